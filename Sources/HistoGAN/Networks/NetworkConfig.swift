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

    public init(resolution: Int = 256, capacity: Double = 1, latentDim: Int = 512, mappingLayers: Int = 8,
                histogramBins: Int = 64, convClamp: Float? = 256) {
        self.resolution = resolution
        self.capacity = capacity
        self.latentDim = latentDim
        self.mappingLayers = mappingLayers
        self.histogramBins = histogramBins
        self.convClamp = convClamp
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
    }
}

/// Errors of the HistoGAN layer; each names the file, flag or setting at fault.
public enum HistoGANError: Error, CustomStringConvertible, Sendable {
    case invalidConfig(String)
    case data(String)
    case checkpoint(String)
    case nonFinite(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid configuration: \(m)"
        case .data(let m): return "data: \(m)"
        case .checkpoint(let m): return "checkpoint: \(m)"
        case .nonFinite(let m): return m
        }
    }
}
