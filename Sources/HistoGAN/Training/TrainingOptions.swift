import Engine

/// The adversarial loss.
public enum AdversarialLoss: String, Codable, Sendable, CaseIterable {
    /// StyleGAN2: non-saturating logistic loss with lazy R1 on reals.
    case nonSaturating = "non-saturating"
    /// The official HistoGAN code: hinge loss with a gradient penalty (‖∇D(real)‖ − 1)²·10 every 4 steps.
    case hinge
}

/// How the histogram loss of a batch is reduced.
public enum HistogramLossReduction: String, Codable, Sendable, CaseIterable {
    /// The official code: `α·(1/√2)·‖√T − √G‖₂ / N` with one norm over the whole batch, so a sample's
    /// weight falls as 1/√N.
    case batch
    /// `α · mean_i Hellinger(T_i, G_i)`: every sample's distance counts the same at any batch size.
    case sample
}

/// Where the training target histograms come from: the interpolation `t·H(a) + (1 − t)·H(b)` of two
/// different random dataset images (t ~ U(0, 1)), as the official loader draws them.
public enum TargetHistogramSource: String, Codable, Sendable, CaseIterable {
    /// Histograms of the R×R training images.
    case image
    /// Histograms of the full-resolution files (the official loader), computed once at load time.
    case file
}

/// Every training hyper-parameter (DESIGN.md §7); every one is a command-line flag. Defaults follow
/// StyleGAN2 / NVlabs, except where a comment says why not.
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
    /// Steps between R1 (or, with the hinge loss, gradient-penalty) terms.
    public var r1Interval: Int
    public var pathLengthWeight: Float
    public var pathLengthDecay: Float
    public var pathLengthBatchShrink: Int
    public var pathLengthInterval: Int
    public var styleMixing: Float
    /// G EMA half-life in thousands of images (NVlabs `auto`: 10).
    public var emaKimg: Double
    /// NVlabs `ema_rampup`: the half-life is at most this fraction of the images seen so far (nil: none), so
    /// the EMA generator follows training early on instead of staying near its initial weights.
    public var emaRampup: Double?
    /// Weight α of the histogram (Hellinger) loss.
    public var histogramAlpha: Float
    /// How the histogram loss is reduced over a batch.
    public var histogramLossReduction: HistogramLossReduction
    /// The training histograms (targets and generated images alike). Default: the network's bins, HistoGAN's
    /// inverse-quadratic kernel and sampling reduction, with σ = one bin spacing (`trainingSigma`).
    public var histogram: HistogramOptions
    /// Where target histograms come from.
    public var targetSource: TargetHistogramSource
    public var flip: Bool
    public var seed: UInt64
    public var logInterval: Int
    public var sampleInterval: Int
    public var checkpointInterval: Int

    public init(network: NetworkConfig = NetworkConfig(), batch: Int = 4, accumulate: Int = 1, steps: Int = 10_000,
                learningRate: Float = 0.0025, beta1: Float = 0, beta2: Float = 0.99, loss: AdversarialLoss = .nonSaturating,
                r1Gamma: Float? = nil, r1Interval: Int = 16, pathLengthWeight: Float = 2, pathLengthDecay: Float = 0.01,
                pathLengthBatchShrink: Int = 2, pathLengthInterval: Int = 4, styleMixing: Float = 0.9, emaKimg: Double = 10,
                emaRampup: Double? = 0.05, histogramAlpha: Float = 2, histogramLossReduction: HistogramLossReduction = .sample,
                histogram: HistogramOptions? = nil, targetSource: TargetHistogramSource = .image, flip: Bool = false,
                seed: UInt64 = 0, logInterval: Int = 10, sampleInterval: Int = 500, checkpointInterval: Int = 500) {
        self.network = network
        self.batch = batch; self.accumulate = accumulate; self.steps = steps
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.loss = loss; self.r1Gamma = r1Gamma; self.r1Interval = r1Interval
        self.pathLengthWeight = pathLengthWeight; self.pathLengthDecay = pathLengthDecay
        self.pathLengthBatchShrink = pathLengthBatchShrink; self.pathLengthInterval = pathLengthInterval
        self.styleMixing = styleMixing; self.emaKimg = emaKimg; self.emaRampup = emaRampup
        self.histogramAlpha = histogramAlpha; self.histogramLossReduction = histogramLossReduction
        self.histogram = histogram ?? HistogramOptions(bins: network.histogramBins, sigma: Self.trainingSigma(bins: network.histogramBins),
                                                       resize: .sampling)
        self.targetSource = targetSource
        self.flip = flip; self.seed = seed
        self.logInterval = logInterval; self.sampleInterval = sampleInterval; self.checkpointInterval = checkpointInterval
    }

    enum CodingKeys: String, CodingKey {
        case network, batch, accumulate, steps, learningRate, beta1, beta2, loss, r1Gamma, r1Interval, pathLengthWeight,
             pathLengthDecay, pathLengthBatchShrink, pathLengthInterval, styleMixing, emaKimg, emaRampup, histogramAlpha,
             histogramLossReduction, histogram, targetSource, flip, seed, logInterval, sampleInterval, checkpointInterval
    }

    /// Decodes options; keys that checkpoints from before they existed lack take the value those runs had
    /// (no EMA ramp-up, the official batch reduction, targets from the training images).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        network = try c.decode(NetworkConfig.self, forKey: .network)
        batch = try c.decode(Int.self, forKey: .batch)
        accumulate = try c.decode(Int.self, forKey: .accumulate)
        steps = try c.decode(Int.self, forKey: .steps)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        beta1 = try c.decode(Float.self, forKey: .beta1)
        beta2 = try c.decode(Float.self, forKey: .beta2)
        loss = try c.decode(AdversarialLoss.self, forKey: .loss)
        r1Gamma = try c.decodeIfPresent(Float.self, forKey: .r1Gamma)
        r1Interval = try c.decode(Int.self, forKey: .r1Interval)
        pathLengthWeight = try c.decode(Float.self, forKey: .pathLengthWeight)
        pathLengthDecay = try c.decode(Float.self, forKey: .pathLengthDecay)
        pathLengthBatchShrink = try c.decode(Int.self, forKey: .pathLengthBatchShrink)
        pathLengthInterval = try c.decode(Int.self, forKey: .pathLengthInterval)
        styleMixing = try c.decode(Float.self, forKey: .styleMixing)
        emaKimg = try c.decode(Double.self, forKey: .emaKimg)
        emaRampup = try c.decodeIfPresent(Double.self, forKey: .emaRampup)
        histogramAlpha = try c.decode(Float.self, forKey: .histogramAlpha)
        histogramLossReduction = try c.decodeIfPresent(HistogramLossReduction.self, forKey: .histogramLossReduction) ?? .batch
        histogram = try c.decode(HistogramOptions.self, forKey: .histogram)
        targetSource = try c.decodeIfPresent(TargetHistogramSource.self, forKey: .targetSource) ?? .image
        flip = try c.decode(Bool.self, forKey: .flip)
        seed = try c.decode(UInt64.self, forKey: .seed)
        logInterval = try c.decode(Int.self, forKey: .logInterval)
        sampleInterval = try c.decode(Int.self, forKey: .sampleInterval)
        checkpointInterval = try c.decode(Int.self, forKey: .checkpointInterval)
    }

    /// The default σ of the training histograms: one bin spacing, `6 / (bins − 1)` (0.19 at 32 bins, 0.095 at 64).
    /// The official σ = 0.02 is a tenth of a spacing at 32 bins: each pixel then counts in one bin alone, and
    /// the loss's gradient only pulls a colour toward the nearest bin centre, never across the u-v plane toward
    /// the target's colours (measured in docs/colour-control.md).
    public static func trainingSigma(bins: Int) -> Float {
        Float(2 * HistogramShape.range / Double(max(bins - 1, 1)))
    }

    public var microBatch: Int { batch / accumulate }
    public var effectiveR1Gamma: Float { r1Gamma ?? Float(network.resolution * network.resolution) / (256 * 256) }

    /// G EMA β before step `step` (NVlabs): half-life `emaKimg·1000` images, at most `emaRampup·images seen`;
    /// `0.5^(batch / half-life)`, so β = 0 (a copy) at step 0 with ramp-up.
    public func emaBeta(step: Int) -> Float {
        var halfLife = emaKimg * 1000
        if let emaRampup { halfLife = min(halfLife, Double(step * batch) * emaRampup) }
        return EMA.beta(halfLifeImages: halfLife, batchSize: batch)
    }

    /// Checks divisibility and ranges; errors name the flag.
    public func validate() throws {
        try network.validate()
        guard batch > 0, accumulate > 0, batch % accumulate == 0 else {
            throw HistoGANError.invalidConfig("--batch \(batch) must be a positive multiple of --accumulate \(accumulate)")
        }
        guard steps >= 0 else { throw HistoGANError.invalidConfig("--steps must be >= 0") }
        guard learningRate > 0 else { throw HistoGANError.invalidConfig("--lr must be > 0") }
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw HistoGANError.invalidConfig("--beta1 \(beta1) and --beta2 \(beta2) must be in [0, 1)")
        }
        guard histogram.bins == network.histogramBins else {
            throw HistoGANError.invalidConfig("histogram bins \(histogram.bins) differ from the network's \(network.histogramBins)")
        }
        guard histogram.sigma > 0 else { throw HistoGANError.invalidConfig("--hist-sigma must be > 0") }
        guard (0...1).contains(styleMixing) else { throw HistoGANError.invalidConfig("--style-mixing must be in [0, 1]") }
        guard r1Interval > 0, pathLengthInterval > 0, pathLengthBatchShrink > 0 else {
            throw HistoGANError.invalidConfig("--r1-interval, --pl-interval and --pl-batch-shrink must be > 0")
        }
        guard emaKimg >= 0, emaRampup.map({ $0 > 0 }) ?? true else {
            throw HistoGANError.invalidConfig("--ema-kimg must be >= 0 and --ema-rampup > 0")
        }
    }
}
