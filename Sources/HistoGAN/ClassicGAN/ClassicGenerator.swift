import Engine

/// Generator of the classic GANs. z `[N, latent]` (joined with the condition `[N, K]` for cgan/acgan) →
/// images `[N, C, R, R]` in [−1, 1].
///
/// - fc: z → 4w → 8w → 16w (leaky ReLU 0.2) → C·R² → tanh (Goodfellow et al.'s MLP);
/// - dcgan, cgan, acgan: z → linear to `[2w, R/4, R/4]` → BN → ReLU → transposed conv 4×4/2 to w → BN → ReLU →
///   transposed conv 4×4/2 to C → tanh (Radford et al.).
public struct ClassicGenerator {
    public let config: ClassicGANConfig
    let dense: [Linear]
    let norms: [BatchNormLayer]
    let deconvs: [ConvTranspose2dLayer]

    public init(config: ClassicGANConfig, seed: UInt64, on backend: any Backend) throws {
        try config.validate()
        self.config = config
        var rng = ParameterInitializer(backend: backend, seed: seed)
        let w = config.width, inDim = config.latentDim + config.conditionDim
        let pixels = config.channels * config.resolution * config.resolution
        if config.model == .fc {
            let sizes = [inDim, 4 * w, 8 * w, 16 * w, pixels]
            dense = try (0..<4).map { try Linear("fc\($0)", in: sizes[$0], out: sizes[$0 + 1], init: &rng) }
            norms = []
            deconvs = []
        } else {
            let s0 = config.resolution / 4
            dense = [try Linear("fc", in: inDim, out: 2 * w * s0 * s0, bias: false, std: 0.02, init: &rng)]
            norms = [try BatchNormLayer("bn0", channels: 2 * w, init: &rng), try BatchNormLayer("bn1", channels: w, init: &rng)]
            deconvs = [try ConvTranspose2dLayer("deconv0", in: 2 * w, out: w, bias: false, init: &rng),
                       try ConvTranspose2dLayer("deconv1", in: w, out: config.channels, init: &rng)]
        }
    }

    /// Trainable parameters (names prefixed by nothing; checkpoints add `G.`).
    public var parameters: ParameterCollection {
        var c = ParameterCollection()
        for l in dense { c.append(contentsOf: l.parameters) }
        for n in norms { c.append(contentsOf: n.parameters) }
        for d in deconvs { c.append(contentsOf: d.parameters) }
        return c
    }

    /// Batch-norm running statistics.
    public var buffers: ParameterCollection {
        var c = ParameterCollection()
        for n in norms { c.append(contentsOf: n.buffers) }
        return c
    }

    /// Images for latents `z` and (conditional models) conditions `[N, K]`. `training` uses batch statistics
    /// in batch norm and updates the running ones; otherwise the running statistics are used.
    public func callAsFunction(z: Tensor, condition: Tensor?, training: Bool) throws -> Tensor {
        let n = z.shape[0]
        var x = z
        if config.model.isConditional {
            guard let condition, condition.shape == [n, config.labelCount] else {
                throw HistoGANError.invalidConfig("\(config.model.rawValue) generator needs a condition [\(n), \(config.labelCount)]")
            }
            x = try Tensor.concat([z, condition], axis: 1)
        }
        if config.model == .fc {
            for (i, layer) in dense.enumerated() {
                x = try layer(x)
                x = i < dense.count - 1 ? try x.map(.leakyReLU(alpha: 0.2)) : x
            }
            return try x.tanh().reshaped([n, config.channels, config.resolution, config.resolution])
        }
        let s0 = config.resolution / 4
        x = try dense[0](x).reshaped([n, 2 * config.width, s0, s0])
        x = try norms[0](x, training: training).map(.relu)
        x = try norms[1](deconvs[0](x), training: training).map(.relu)
        return try deconvs[1](x).tanh()
    }
}
