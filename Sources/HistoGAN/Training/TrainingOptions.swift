import Engine

/// The adversarial loss.
public enum AdversarialLoss: String, Codable, Sendable, CaseIterable {
    /// StyleGAN2: non-saturating logistic loss with lazy R1 on reals.
    case nonSaturating = "non-saturating"
    /// The official HistoGAN code: hinge loss with a gradient penalty (‖∇D(real)‖ − 1)²·10.
    case hinge
}

/// Every training hyper-parameter (DESIGN.md §7); every one is a command-line flag. Defaults follow
/// StyleGAN2 / NVlabs.
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var network: NetworkConfig
    /// Images per optimizer step (= micro-batch · accumulate).
    public var batch: Int
    /// Micro-batches accumulated per optimizer step.
    public var accumulate: Int
    public var steps: Int
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var loss: AdversarialLoss
    /// R1 weight γ; nil = (R/256)² (1 at 256, scaled with R² like NVlabs `auto`).
    public var r1Gamma: Float?
    public var r1Interval: Int
    public var pathLengthWeight: Float
    public var pathLengthDecay: Float
    public var pathLengthBatchShrink: Int
    public var pathLengthInterval: Int
    public var styleMixing: Float
    /// G EMA half-life in thousands of images (NVlabs `auto`: 10).
    public var emaKimg: Double
    /// Weight α of the histogram (Hellinger) loss.
    public var histogramAlpha: Float
    public var histogram: HistogramOptions
    public var flip: Bool
    public var seed: UInt64
    public var logInterval: Int
    public var sampleInterval: Int
    public var checkpointInterval: Int

    public init(network: NetworkConfig = NetworkConfig(), batch: Int = 4, accumulate: Int = 1, steps: Int = 10_000,
                learningRate: Float = 0.0025, beta1: Float = 0, beta2: Float = 0.99, loss: AdversarialLoss = .nonSaturating,
                r1Gamma: Float? = nil, r1Interval: Int = 16, pathLengthWeight: Float = 2, pathLengthDecay: Float = 0.01,
                pathLengthBatchShrink: Int = 2, pathLengthInterval: Int = 4, styleMixing: Float = 0.9, emaKimg: Double = 10,
                histogramAlpha: Float = 2, histogram: HistogramOptions? = nil, flip: Bool = false, seed: UInt64 = 0,
                logInterval: Int = 10, sampleInterval: Int = 500, checkpointInterval: Int = 500) {
        self.network = network
        self.batch = batch; self.accumulate = accumulate; self.steps = steps
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.loss = loss; self.r1Gamma = r1Gamma; self.r1Interval = r1Interval
        self.pathLengthWeight = pathLengthWeight; self.pathLengthDecay = pathLengthDecay
        self.pathLengthBatchShrink = pathLengthBatchShrink; self.pathLengthInterval = pathLengthInterval
        self.styleMixing = styleMixing; self.emaKimg = emaKimg; self.histogramAlpha = histogramAlpha
        self.histogram = histogram ?? HistogramOptions(bins: network.histogramBins, resize: .sampling)
        self.flip = flip; self.seed = seed
        self.logInterval = logInterval; self.sampleInterval = sampleInterval; self.checkpointInterval = checkpointInterval
    }

    public var microBatch: Int { batch / accumulate }
    public var effectiveR1Gamma: Float { r1Gamma ?? Float(network.resolution * network.resolution) / (256 * 256) }

    /// Checks divisibility and ranges; errors name the flag.
    public func validate() throws {
        try network.validate()
        guard batch > 0, accumulate > 0, batch % accumulate == 0 else {
            throw HistoGANError.invalidConfig("--batch \(batch) must be a positive multiple of --accumulate \(accumulate)")
        }
        guard steps >= 0 else { throw HistoGANError.invalidConfig("--steps must be >= 0") }
        guard learningRate > 0 else { throw HistoGANError.invalidConfig("--lr must be > 0") }
        guard histogram.bins == network.histogramBins else {
            throw HistoGANError.invalidConfig("histogram bins \(histogram.bins) differ from the network's \(network.histogramBins)")
        }
        guard (0...1).contains(styleMixing) else { throw HistoGANError.invalidConfig("--style-mixing must be in [0, 1]") }
        guard r1Interval > 0, pathLengthInterval > 0, pathLengthBatchShrink > 0 else {
            throw HistoGANError.invalidConfig("regularisation intervals and --pl-batch-shrink must be > 0")
        }
    }
}
