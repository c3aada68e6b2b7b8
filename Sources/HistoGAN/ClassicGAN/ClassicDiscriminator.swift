import Engine

/// Discriminator of the classic GANs: images `[N, C, R, R]` (and conditions `[N, K]` for cgan) → one real/fake
/// logit per image `[N, 1]`, plus class or tag logits `[N, K]` for acgan (the auxiliary classifier head).
///
/// - fc: C·R² → 8w → 4w (leaky ReLU 0.2) → 1;
/// - dcgan, cgan, acgan: conv 4×4/2 to w → leaky ReLU → (cgan: the condition joined as K constant feature maps)
///   → conv 4×4/2 to 2w → BN → leaky ReLU → linear to 1 (and, acgan, linear to K).
public struct ClassicDiscriminator {
    public let config: ClassicGANConfig
    let convs: [Conv2dPlain]
    let norm: BatchNormLayer?
    let dense: [Linear]
    let classifier: Linear?

    public init(config: ClassicGANConfig, seed: UInt64, on backend: any Backend) throws {
        try config.validate()
        self.config = config
        var rng = ParameterInitializer(backend: backend, seed: seed)
        let w = config.width
        if config.model == .fc {
            let sizes = [config.channels * config.resolution * config.resolution, 8 * w, 4 * w, 1]
            dense = try (0..<3).map { try Linear("fc\($0)", in: sizes[$0], out: sizes[$0 + 1], init: &rng) }
            convs = []
            norm = nil
            classifier = nil
            return
        }
        let joined = config.model == .cgan ? config.labelCount : 0
        convs = [try Conv2dPlain("conv0", in: config.channels, out: w, kernel: 4, stride: 2, padding: 1, init: &rng),
                 try Conv2dPlain("conv1", in: w + joined, out: 2 * w, kernel: 4, stride: 2, padding: 1, bias: false, init: &rng)]
        norm = try BatchNormLayer("bn1", channels: 2 * w, init: &rng)
        let features = 2 * w * (config.resolution / 4) * (config.resolution / 4)
        dense = [try Linear("fc", in: features, out: 1, std: 0.02, init: &rng)]
        classifier = config.model == .acgan ? try Linear("aux", in: features, out: config.labelCount, std: 0.02, init: &rng) : nil
    }

    public var parameters: ParameterCollection {
        var c = ParameterCollection()
        for l in convs { c.append(contentsOf: l.parameters) }
        if let norm { c.append(contentsOf: norm.parameters) }
        for l in dense { c.append(contentsOf: l.parameters) }
        if let classifier { c.append(contentsOf: classifier.parameters) }
        return c
    }

    /// Batch-norm running statistics.
    public var buffers: ParameterCollection { norm?.buffers ?? ParameterCollection() }

    /// (real/fake logits `[N, 1]`, auxiliary logits `[N, K]` for acgan else nil).
    public func callAsFunction(_ images: Tensor, condition: Tensor?, training: Bool) throws -> (logits: Tensor, classLogits: Tensor?) {
        let n = images.shape[0]
        if config.model == .fc {
            var x = try images.reshaped([n, -1])
            for (i, layer) in dense.enumerated() {
                x = try layer(x)
                x = i < dense.count - 1 ? try x.map(.leakyReLU(alpha: 0.2)) : x
            }
            return (x, nil)
        }
        var x = try convs[0](images).map(.leakyReLU(alpha: 0.2))
        if config.model == .cgan {
            guard let condition, condition.shape == [n, config.labelCount] else {
                throw HistoGANError.invalidConfig("cgan discriminator needs a condition [\(n), \(config.labelCount)]")
            }
            let maps = try condition.reshaped([n, config.labelCount, 1, 1]).expanded(to: [n, config.labelCount, x.shape[2], x.shape[3]])
            x = try Tensor.concat([x, maps], axis: 1)
        }
        x = try convs[1](x)
        if let norm { x = try norm(x, training: training) }
        let features = try x.map(.leakyReLU(alpha: 0.2)).reshaped([n, -1])
        return (try dense[0](features), try classifier.map { try $0(features) })
    }
}
