import Engine

/// The HistoGAN generator: mapping network (z → w), histogram encoder (H → w_hist) and the synthesis
/// network, whose last two blocks take w_hist and all earlier layers take w.
public final class Generator {
    public let config: NetworkConfig
    public let mapping: MappingNetwork
    public let histogramEncoder: HistogramEncoder
    public let synthesis: SynthesisNetwork

    /// Builds the networks with weights drawn from Philox `seed` on `backend`.
    public init(config: NetworkConfig, backend: any Backend, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng = ParameterInitializer(backend: backend, seed: seed)
        mapping = try MappingNetwork(config: config, init: &rng)
        histogramEncoder = try HistogramEncoder(config: config, init: &rng)
        synthesis = try SynthesisNetwork(config: config, init: &rng)
    }

    public var parameters: ParameterCollection {
        var c = mapping.parameters
        c.append(contentsOf: histogramEncoder.parameters)
        c.append(contentsOf: synthesis.parameters)
        return c
    }

    /// Per-layer w inputs. Layers before `firstHistogramW` take w = mapping(z) (truncated by ψ); with
    /// `mixing = (z2, cutoff)` layers from `cutoff` on take mapping(z2) instead; the last two blocks take
    /// w_hist. Each entry is its own graph node, so gradients can be taken per layer (path length).
    public func ws(z: Tensor, histograms: Tensor, truncation psi: Float = 1, mixing: (z: Tensor, cutoff: Int)? = nil,
                   updateAverage: Bool = false) throws -> [Tensor] {
        try ws(w: mapping.truncate(mapping(z, updateAverage: updateAverage), psi: psi), histograms: histograms,
               truncation: psi, mixing: mixing)
    }

    /// `ws(z:…)` for a given w = mapping(z) (already truncated): the mixing latent z2 is mapped and truncated here.
    public func ws(w: Tensor, histograms: Tensor, truncation psi: Float = 1, mixing: (z: Tensor, cutoff: Int)? = nil) throws -> [Tensor] {
        let w2 = try mixing.map { try mapping.truncate(mapping($0.z), psi: psi) }
        let wHist = try histogramEncoder(histograms)
        let n = synthesis.numWs, first = synthesis.firstHistogramW
        return try (0..<n).map { i in
            let source = i >= first ? wHist : (w2 != nil && i >= mixing!.cutoff ? w2! : w)
            return try source.reshaped(source.shape)
        }
    }

    /// Images `[N, 3, R, R]` in about [-1, 1] for latents z `[N, latentDim]` and target histograms
    /// `[N, 3, bins, bins]`.
    public func callAsFunction(z: Tensor, histograms: Tensor, truncation: Float = 1, noise: NoiseSource? = nil) throws -> Tensor {
        try synthesis(ws(z: z, histograms: histograms, truncation: truncation), noise: noise)
    }
}
