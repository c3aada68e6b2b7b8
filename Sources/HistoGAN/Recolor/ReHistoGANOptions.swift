import Engine

/// ReHistoGAN training hyper-parameters; every one is a `recolor-train` flag. Loss weights follow the official
/// `rehistoGAN.py` (α 32, β 1.5, γ, variance β/10; hinge D with gradient penalty 10 every 4 steps); the
/// optimizer is Adam (the official DiffGrad is Adam with a friction term) at the lr our equalized-lr layers expect.
public struct ReHistoGANOptions: Codable, Sendable, Equatable {
    /// Sizes of the network (resolution, capacity, latent, bins, …) as for HistoGAN.
    public var network: NetworkConfig
    /// Whether the encoder's R/2 and R features feed the head (official `--skip_conn_to_GAN`).
    public var skipToHead: Bool
    public var batch: Int
    public var steps: Int
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    /// γ: weight of the generator's hinge adversarial term `−mean D(G(x, T))`.
    public var adversarialWeight: Float
    /// α: weight of the histogram loss.
    public var histogramAlpha: Float
    /// How the histogram loss is reduced over a batch.
    public var histogramLossReduction: HistogramLossReduction
    /// β: weight of the reconstruction loss `mean |∇²Σ_c x − ∇²Σ_c G(x, T)|` (official "laplacian").
    public var reconstructionWeight: Float
    /// Weight of the official variance term (β/10 there); 0 turns it off.
    public var varianceWeight: Float
    /// Steps between gradient-penalty terms (weight 10 each, as the official code).
    public var gradientPenaltyInterval: Int
    /// EMA half-life of the generator in thousands of images (nil: no EMA, as the official code and runs written
    /// before it existed). `recolor` uses the EMA generator: without it the output drifts from step to step.
    public var emaKimg: Double?
    /// NVlabs `ema_rampup`: the half-life is at most this fraction of the images seen so far.
    public var emaRampup: Double?
    /// The training histograms (targets and outputs alike).
    public var histogram: HistogramOptions
    public var flip: Bool
    public var seed: UInt64
    public var logInterval: Int
    public var sampleInterval: Int
    public var checkpointInterval: Int

    public init(network: NetworkConfig = NetworkConfig(resolution: 64, capacity: 0.125, latentDim: 128, mappingLayers: 4,
                                                       histogramBins: 32),
                skipToHead: Bool = true, batch: Int = 8, steps: Int = 2_000, learningRate: Float = 0.002,
                beta1: Float = 0, beta2: Float = 0.99, adversarialWeight: Float = 1, histogramAlpha: Float = 16,
                histogramLossReduction: HistogramLossReduction = .sample, reconstructionWeight: Float = 1.5,
                varianceWeight: Float = 0.15, gradientPenaltyInterval: Int = 4, emaKimg: Double? = 10,
                emaRampup: Double? = 0.05, histogram: HistogramOptions? = nil,
                flip: Bool = true, seed: UInt64 = 0, logInterval: Int = 10, sampleInterval: Int = 250,
                checkpointInterval: Int = 250) {
        self.network = network
        self.skipToHead = skipToHead
        self.batch = batch; self.steps = steps
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.adversarialWeight = adversarialWeight
        self.histogramAlpha = histogramAlpha; self.histogramLossReduction = histogramLossReduction
        self.reconstructionWeight = reconstructionWeight; self.varianceWeight = varianceWeight
        self.gradientPenaltyInterval = gradientPenaltyInterval
        self.emaKimg = emaKimg; self.emaRampup = emaRampup
        self.histogram = histogram ?? HistogramOptions(bins: network.histogramBins,
                                                       sigma: TrainingOptions.trainingSigma(bins: network.histogramBins),
                                                       resize: .sampling)
        self.flip = flip; self.seed = seed
        self.logInterval = logInterval; self.sampleInterval = sampleInterval; self.checkpointInterval = checkpointInterval
    }

    /// G EMA β before step `step`, as `TrainingOptions.emaBeta` (nil without EMA).
    public func emaBeta(step: Int) -> Float? {
        guard let emaKimg else { return nil }
        var halfLife = emaKimg * 1000
        if let emaRampup { halfLife = min(halfLife, Double(step * batch) * emaRampup) }
        return EMA.beta(halfLifeImages: halfLife, batchSize: batch)
    }

    /// Checks ranges; errors name the flag.
    public func validate() throws {
        try network.validate()
        guard network.resolution >= 16 else { throw HistoGANError.invalidConfig("--resolution must be at least 16 for ReHistoGAN") }
        guard batch > 0 else { throw HistoGANError.invalidConfig("--batch must be > 0") }
        guard steps >= 0 else { throw HistoGANError.invalidConfig("--steps must be >= 0") }
        guard learningRate > 0 else { throw HistoGANError.invalidConfig("--lr must be > 0") }
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw HistoGANError.invalidConfig("--beta1 \(beta1) and --beta2 \(beta2) must be in [0, 1)")
        }
        guard histogram.bins == network.histogramBins else {
            throw HistoGANError.invalidConfig("histogram bins \(histogram.bins) differ from the network's \(network.histogramBins)")
        }
        guard emaKimg.map({ $0 >= 0 }) ?? true, emaRampup.map({ $0 > 0 }) ?? true else {
            throw HistoGANError.invalidConfig("--ema-kimg must be >= 0 and --ema-rampup > 0")
        }
        guard gradientPenaltyInterval > 0 else { throw HistoGANError.invalidConfig("--gp-interval must be > 0") }
        guard [adversarialWeight, histogramAlpha, reconstructionWeight, varianceWeight].allSatisfy({ $0 >= 0 }) else {
            throw HistoGANError.invalidConfig("--adv-weight, --hist-alpha, --rec-weight and --var-weight must be >= 0")
        }
        guard logInterval > 0, sampleInterval > 0, checkpointInterval > 0 else {
            throw HistoGANError.invalidConfig("--log-every, --sample-every and --checkpoint-every must be > 0")
        }
    }
}
