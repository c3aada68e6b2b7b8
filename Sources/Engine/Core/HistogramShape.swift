// Parameters of the RGB-uv histogram primitive (DESIGN.md section 6, HistoGAN `RGBuvHistBlock`).

/// How one pixel's log-chroma offset `d = |u − t_k|` from bin centre `t_k` is weighted.
public enum HistogramKernel: String, Sendable, Hashable, CaseIterable, Codable {
    /// `1 / (1 + d²/σ²)` (HistoGAN's default; the most stable in training).
    case inverseQuadratic = "inverse-quadratic"
    /// `exp(−d²/σ²)` (HistoGAN's `RBF`).
    case gaussian
    /// `d ≤ (6 / bins) / 2` as 1 or 0 (HistoGAN's `thresholding`; not differentiable in u, v).
    case threshold

    /// Stable code shared by the CPU switch and the OpenCL `-D HIST_KERNEL=` option.
    public var code: Int { switch self { case .inverseQuadratic: 0; case .gaussian: 1; case .threshold: 2 } }
}

/// How an image larger than `maxSize` in either dimension is reduced before binning.
public enum HistogramResize: String, Sendable, Hashable, CaseIterable, Codable {
    /// Bilinear resize to `maxSize × maxSize`, PyTorch `F.interpolate(mode='bilinear', align_corners=False)`.
    case interpolation
    /// Keep rows `floor(linspace(0, H, bins, endpoint=False))` and the same columns of W (`bins × bins` pixels).
    case sampling
}

/// The user-facing options of the RGB-uv histogram, with HistoGAN's defaults.
public struct HistogramOptions: Sendable, Hashable, Codable {
    /// Bins per axis (u and v); the histogram of one image is `[3, bins, bins]`.
    public var bins: Int
    public var kernel: HistogramKernel
    /// σ of the inverse-quadratic and Gaussian kernels.
    public var sigma: Float
    public var resize: HistogramResize
    /// Images taller or wider than this are reduced first (`resize`).
    public var maxSize: Int

    /// HistoGAN's defaults: 64 bins, inverse-quadratic kernel, σ 0.02, bilinear reduction to 150×150.
    public init(bins: Int = 64, kernel: HistogramKernel = .inverseQuadratic, sigma: Float = 0.02,
                resize: HistogramResize = .interpolation, maxSize: Int = 150) {
        self.bins = bins; self.kernel = kernel; self.sigma = sigma; self.resize = resize; self.maxSize = maxSize
    }

    /// Largest supported `bins` (the exact sampling-index arithmetic of the OpenCL kernel needs
    /// `bins · 2⁵³ < 2⁶³`).
    public static let maxBins = 512
}

/// One call of the histogram primitive: a batch of `[batch, 3, height, width]` images and the options.
public struct HistogramShape: Sendable, Hashable {
    public var batch: Int, height: Int, width: Int
    public var options: HistogramOptions

    /// eps of HistoGAN's `RGBuvHistBlock`: inside the logs, the intensity root and the normalisation.
    public static let epsilon: Float = 1e-6
    /// Bin centres span `[−range, range]`.
    public static let range: Double = 3

    /// A batch of `batch` images of `height × width` pixels histogrammed with `options`.
    public init(batch: Int, height: Int, width: Int, options: HistogramOptions = HistogramOptions()) {
        self.batch = batch; self.height = height; self.width = width; self.options = options
    }

    public var bins: Int { options.bins }
    /// Whether the image is reduced first (`height > maxSize || width > maxSize`).
    public var reduces: Bool { height > options.maxSize || width > options.maxSize }
    /// Rows and columns of the image that is binned.
    public var binnedHeight: Int { !reduces ? height : (options.resize == .interpolation ? options.maxSize : bins) }
    public var binnedWidth: Int { !reduces ? width : (options.resize == .interpolation ? options.maxSize : bins) }
    /// Pixels binned per image.
    public var pixels: Int { binnedHeight * binnedWidth }
    /// Floats of the input, `[batch, 3, height, width]`.
    public var imageCount: Int { batch * 3 * height * width }
    /// Floats of the output, `[batch, 3, bins, bins]`.
    public var outputCount: Int { batch * 3 * bins * bins }

    /// Bin centres `numpy.linspace(−3, 3, bins)` (computed in Double as NumPy does, then rounded).
    public var binCentres: [Float] {
        let n = bins
        guard n > 1 else { return [Float(-Self.range)] }
        let step = 2 * Self.range / Double(n - 1)
        return (0..<n).map { k in k == n - 1 ? Float(Self.range) : Float(Double(k) * step - Self.range) }
    }

    /// Half-width of the threshold kernel, `(6 / bins) / 2`.
    public var thresholdHalfWidth: Float { Float(2 * Self.range / Double(bins) / 2) }

    /// Rows (or columns) kept by `sampling` from an axis of `size`: `floor(linspace(0, size, bins,
    /// endpoint=False))` with NumPy's Double arithmetic (`k · (size / bins)`), which differs from
    /// the exact `k·size / bins` at some integer points.
    public func sampleIndices(_ size: Int) -> [Int] {
        let step = Double(size) / Double(bins)
        return (0..<bins).map { Int((Double($0) * step).rounded(.down)) }
    }

    /// Per-axis integers from which the OpenCL kernel reproduces `sampleIndices` exactly without
    /// Double: index `k` is `m = k·size / bins` (integer division), minus 1 when `k·size` is a
    /// multiple of `bins`, the Double step `size/bins = M·2^E` was rounded down by `deficit·2^E / bins`,
    /// and that deficit makes `fl(k·step)` fall below `m` (see `histogram.cl`, `sample_index`).
    /// Returns (`deficit` ≥ 0, `exponent` x with step in `[2^x, 2^(x+1))`).
    public func sampleCorrection(_ size: Int) -> (deficit: Int, exponent: Int) {
        let step = Double(size) / Double(bins)
        let exponent = Int(step.exponent)
        let e = exponent - 52                                   // step = mantissa · 2^e exactly
        let mantissa = Int64(step.significandBitPattern | (1 << 52))
        // N = mantissa·bins − size·2^(−e); negative when the Double step is below size/bins.
        let scaled = e <= 0 ? Int64(size) << Int64(-e) : Int64(size) >> Int64(e)
        let n = mantissa * Int64(bins) - scaled
        return (n < 0 ? Int(-n) : 0, exponent)
    }

    /// Checks sizes and options; throws `shapeMismatch` naming `op`.
    public func validate(_ op: String) throws {
        guard batch > 0, height > 0, width > 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "empty image batch [\(batch), 3, \(height), \(width)]")
        }
        guard (1...HistogramOptions.maxBins).contains(bins) else {
            throw EngineError.shapeMismatch(op: op, detail: "bins \(bins) outside 1...\(HistogramOptions.maxBins)")
        }
        guard options.maxSize > 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "maxSize \(options.maxSize) must be positive")
        }
        guard options.sigma > 0 || options.kernel == .threshold, options.sigma.isFinite else {
            throw EngineError.shapeMismatch(op: op, detail: "sigma \(options.sigma) must be positive and finite")
        }
        guard height * width < 1 << 24, pixels < 1 << 24 else {
            throw EngineError.shapeMismatch(op: op, detail: "image \(height)x\(width) too large (2^24 pixels at most)")
        }
    }
}
