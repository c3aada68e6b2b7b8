import Engine

/// Sizes of the HistoGAN networks (DESIGN.md §5, NVlabs `paper256` plus the histogram branch).
public struct NetworkConfig: Codable, Sendable, Hashable {
    /// Output resolution R ∈ {32, 64, 128, 256}.
    public var resolution: Int
    /// Multiplies every channel count (1 = the paper's network; 1/16 gives a small demo network).
    public var capacity: Double
    /// Dimension of z and w.
    public var latentDim: Int
    /// Number of FC layers of the mapping network.
    public var mappingLayers: Int
    /// Histogram bins per axis (the encoder reads 3·bins² values).
    public var histogramBins: Int
    /// Clamp of conv outputs (NVlabs `conv_clamp`, 256), nil for none.
    public var convClamp: Float?
    /// What the histogram encoder reads (see `HistogramInput`).
    public var histogramInput: HistogramInput
    /// Discriminator minibatch-stddev group size (NVlabs `mbstd_group_size`).
    public var mbstdGroup: Int
    /// How the synthesis network's up-sampling convolutions run (see `UpsampleConv`).
    public var upsampleConv: UpsampleConv
    /// How the synthesis network's modulated convolutions run (see `ModconvMode`); the parameters are the same
    /// either way, so checkpoints are interchangeable.
    public var modconv: ModconvMode

    public init(resolution: Int = 256, capacity: Double = 1, latentDim: Int = 512, mappingLayers: Int = 8,
                histogramBins: Int = 64, convClamp: Float? = 256, histogramInput: HistogramInput = .sqrtNormalized,
                mbstdGroup: Int = 4, upsampleConv: UpsampleConv = .transposed, modconv: ModconvMode = .defaultMode) {
        self.resolution = resolution
        self.capacity = capacity
        self.latentDim = latentDim
        self.mappingLayers = mappingLayers
        self.histogramBins = histogramBins
        self.convClamp = convClamp
        self.histogramInput = histogramInput
        self.mbstdGroup = mbstdGroup
        self.upsampleConv = upsampleConv
        self.modconv = modconv
    }

    enum CodingKeys: String, CodingKey {
        case resolution, capacity, latentDim, mappingLayers, histogramBins, convClamp, histogramInput, mbstdGroup, upsampleConv, modconv
    }

    /// Decodes a config; checkpoints written before `histogramInput` existed read as `.raw`, which is what
    /// their encoder was trained on, and those written before `modconv` existed as `.fused` (the same function
    /// of the same parameters as `.split`; `.fused` reproduces their images bit for bit).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        resolution = try c.decode(Int.self, forKey: .resolution)
        capacity = try c.decode(Double.self, forKey: .capacity)
        latentDim = try c.decode(Int.self, forKey: .latentDim)
        mappingLayers = try c.decode(Int.self, forKey: .mappingLayers)
        histogramBins = try c.decode(Int.self, forKey: .histogramBins)
        convClamp = try c.decodeIfPresent(Float.self, forKey: .convClamp)
        histogramInput = try c.decodeIfPresent(HistogramInput.self, forKey: .histogramInput) ?? .raw
        mbstdGroup = try c.decodeIfPresent(Int.self, forKey: .mbstdGroup) ?? 4
        upsampleConv = try c.decodeIfPresent(UpsampleConv.self, forKey: .upsampleConv) ?? .firThenConv
        modconv = try c.decodeIfPresent(ModconvMode.self, forKey: .modconv) ?? .fused
    }

    /// Feature channels at resolution r: `min(16384 / r, 512) · capacity`, at least 4.
    public func channels(at r: Int) -> Int {
        max(4, Int((Double(min(16384 / r, 512)) * capacity).rounded()))
    }

    /// Resolutions of the synthesis blocks: 4, 8, …, R.
    public var blockResolutions: [Int] {
        var r = 4, out: [Int] = []
        while r <= resolution { out.append(r); r *= 2 }
        return out
    }

    /// Throws unless R is a power of two in 32…256 (or 8…1024 for experiments) and sizes are positive.
    public func validate() throws {
        guard resolution >= 8, resolution <= 1024, resolution & (resolution - 1) == 0 else {
            throw HistoGANError.invalidConfig("--resolution \(resolution): must be a power of two between 8 and 1024")
        }
        guard capacity > 0, latentDim > 0, mappingLayers > 0, histogramBins > 1 else {
            throw HistoGANError.invalidConfig("capacity, latent size, mapping layers and bins must be positive")
        }
        guard mbstdGroup > 0 else { throw HistoGANError.invalidConfig("--mbstd-group \(mbstdGroup): must be > 0") }
    }
}

/// The vector the histogram encoder's first layer reads, from a histogram H `[3, B, B]` that sums to 1.
///
/// The raw histogram is about 1/(3B²) a bin, so with equalized learning rate (weights scaled by
/// 1/√(3B²) at use) the first layer's outputs and weight gradients are ~100x smaller than the official
/// code's plain `nn.Linear` and fall below Adam's ε: the branch never learns. Scaling the input to unit
/// second moment, as NVlabs' mapping network does for z and for its conditioning embedding, gives every
/// layer of the encoder unit-scale activations at initialisation whatever B and however peaked H is.
public enum HistogramInput: String, Codable, Sendable, CaseIterable {
    /// H as it is (checkpoints from before this option; the branch does not learn).
    case raw
    /// `H · rsqrt(mean(H²) + 1e-8)`.
    case normalized
    /// `√H · rsqrt(mean(H) + 1e-8)`: √H (the space in which the Hellinger loss is a Euclidean distance)
    /// scaled to unit second moment.
    case sqrtNormalized = "sqrt-normalized"
}

/// The synthesis network's 2x up-sampling modulated 3x3 convolution.
public enum UpsampleConv: String, Codable, Sendable, CaseIterable {
    /// NVlabs: stride-2 transposed convolution, then the FIR filter (`Tensor.modulatedConv2dUp2`); exact.
    case transposed
    /// FIR up-sampling to 2x, then a padded 3x3 convolution at 2x: 4x the multiply-adds and a different outer
    /// 1-px ring (checkpoints from before `transposed` existed were trained this way).
    case firThenConv = "fir-then-conv"
}

extension ModconvMode {
    /// The default of new networks and of `--modconv`: `.split`, 3–5% less time per training step than `.fused` on both
    /// the CPU backend and OpenCL on PoCL at 32 px, measured side by side (docs/benchmarks.md, "Split modulated
    /// convolution"), and NVlabs' training setting.
    public static let defaultMode: ModconvMode = .split
}

/// Errors of the HistoGAN layer; each names the file, flag or setting at fault.
public enum HistoGANError: Error, CustomStringConvertible, Sendable {
    case invalidConfig(String)
    case data(String)
    case checkpoint(String)
    case nonFinite(String)
    /// A data-parallel run went wrong in a way every rank sees alike (e.g. replicas whose parameters differ).
    case distributed(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid configuration: \(m)"
        case .data(let m): return "data: \(m)"
        case .checkpoint(let m): return "checkpoint: \(m)"
        case .nonFinite(let m): return m
        case .distributed(let m): return "data-parallel run: \(m)"
        }
    }

    /// True for errors that every rank of a data-parallel run raises alike (decided on all-reduced values), so the
    /// ranks can stop together without MPI_Abort.
    public var isRaisedByEveryRank: Bool {
        switch self {
        case .nonFinite, .distributed: return true
        case .invalidConfig, .data, .checkpoint: return false
        }
    }
}
