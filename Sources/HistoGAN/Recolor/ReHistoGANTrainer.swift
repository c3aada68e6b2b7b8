import Engine
import Foundation

/// Losses and timing of one ReHistoGAN step (the `log.jsonl` record of `recolor-train`).
public struct ReHistoGANStepStats: Codable, Sendable {
    public var step: Int
    public var adversarialLoss: Double
    public var histogramLoss: Double
    public var reconstructionLoss: Double
    public var varianceLoss: Double
    public var discriminatorLoss: Double
    public var gradientPenalty: Double?
    public var seconds: Double
    public var imagesPerSecond: Double
}

/// ReHistoGAN training state and one optimizer step (official `recoloringTrainer.train`): the generator
/// recolours a batch of real images toward target histograms drawn as interpolations of two other training
/// images' histograms; G minimises γ·adv + α·histogram + β·reconstruction + variance, D the hinge loss with a
/// gradient penalty on reals every `gradientPenaltyInterval` steps. Every random draw is keyed by (seed, step),
/// so a resumed run repeats an uninterrupted one.
public final class ReHistoGANTrainer {
    public let options: ReHistoGANOptions
    public let backend: any Backend
    public let generator: ReHistoGANGenerator
    /// The EMA of `generator` (what `recolor` uses); nil when `options.emaKimg` is nil.
    public let generatorEMA: ReHistoGANGenerator?
    public let discriminator: Discriminator
    let adamG: Adam
    let adamD: Adam
    public internal(set) var step = 0
    let laplacian: Tensor
    let gaussian: Tensor

    public init(options: ReHistoGANOptions, backend: any Backend) throws {
        try options.validate()
        self.options = options
        self.backend = backend
        generator = try ReHistoGANGenerator(config: options.network, skipToHead: options.skipToHead, backend: backend,
                                            seed: options.seed &+ 11)
        generatorEMA = options.emaKimg == nil ? nil
            : try ReHistoGANGenerator(config: options.network, skipToHead: options.skipToHead, backend: backend, seed: options.seed &+ 11)
        var rng = ParameterInitializer(backend: backend, seed: options.seed &+ 12)
        discriminator = try Discriminator(config: options.network, init: &rng)
        adamG = Adam(learningRate: options.learningRate, beta1: options.beta1, beta2: options.beta2)
        adamD = Adam(learningRate: options.learningRate, beta1: options.beta1, beta2: options.beta2)
        laplacian = try ReHistoGANLosses.laplacianKernel(on: backend)
        gaussian = try ReHistoGANLosses.gaussianKernel(size: 15, sigma: 5, on: backend)
    }

    /// Seeds the histogram encoder and head from a trained HistoGAN checkpoint's EMA generator (same names).
    public func loadHead(fromHistoGAN path: String) throws {
        let other = try Checkpoint.options(at: path).network
        let mine = options.network
        guard other.resolution == mine.resolution, other.capacity == mine.capacity, other.latentDim == mine.latentDim,
              other.histogramBins == mine.histogramBins, other.histogramInput == mine.histogramInput else {
            throw HistoGANError.checkpoint("--from-histogan \(path): its network (\(other.resolution) px, capacity \(other.capacity), latent \(other.latentDim), \(other.histogramBins) bins) differs from this run's (\(mine.resolution) px, capacity \(mine.capacity), latent \(mine.latentDim), \(mine.histogramBins) bins)")
        }
        let tensors = try SafeTensors.read(path).tensors
        var c = generator.headParameters
        c.append(contentsOf: generator.histogramEncoder.parameters)
        try c.load(tensors, prefix: "G_ema.", source: path)
        if let generatorEMA { try EMA.update(generatorEMA.parameters, toward: generator.parameters, beta: 0) }
    }

    func noise() -> NoiseSource { NoiseSource(seed: options.seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15)) }

    /// One optimizer step on real images `[N, 3, R, R]` in [-1, 1] with targets `[N, 3, B, B]`. Throws
    /// `HistoGANError.nonFinite` before any parameter changes when a loss is NaN or infinite.
    public func trainStep(real: Tensor, targets: Tensor) throws -> ReHistoGANStepStats {
        let start = Date()
        let o = options
        let g = generator.parameters, d = discriminator.parameters
        let n = real.shape[0]

        // G: recolour, then adversarial + histogram + reconstruction + variance.
        let fake = try generator(real, histograms: targets, noise: noise())
        let adv = try discriminator(fake).mean().map(.neg)
        let hist = try HistogramLoss.loss(HistogramLoss.histograms(ofGenerated: fake, options: o.histogram),
                                          target: targets, alpha: o.histogramAlpha, reduction: o.histogramLossReduction)
        let rec = try ReHistoGANLosses.laplacianL1(real, fake, kernel: laplacian)
        var lossG = try adv * o.adversarialWeight + hist + rec * o.reconstructionWeight
        var variance = 0.0
        if o.varianceWeight > 0 {
            let inputHist = try Autograd.withoutGrad { try HistogramLoss.histograms(ofGenerated: real, options: o.histogram) }
            let v = try ReHistoGANLosses.varianceTerm(input: real, output: fake, inputHistograms: inputHist, targets: targets,
                                                      kernel: gaussian)
            variance = try Double(v.item())
            lossG = try lossG + v * o.varianceWeight
        }
        let stats = (adv: try Double(adv.item()), hist: try Double(hist.item()), rec: try Double(rec.item()))
        try checkFinite(stats.adv + stats.hist + stats.rec + variance, "generator loss")
        try g.backward(lossG)

        // D: hinge on reals and (detached) fakes, gradient penalty on reals.
        let doGP = step % o.gradientPenaltyInterval == 0
        let fakeD = try Autograd.withoutGrad { try generator(real, histograms: targets, noise: noise()) }
        let realInput = doGP ? real.requiringGrad() : real
        let realLogits = try discriminator(realInput), fakeLogits = try discriminator(fakeD)
        var lossD = try (fakeLogits + 1).map(.relu).mean() + (realLogits.map(.neg) + 1).map(.relu).mean()
        let dValue = try Double(lossD.item())
        var gp: Double?
        if doGP {
            let grad = try Autograd.gradients(of: realLogits.sum(), wrt: [realInput], createGraph: true)[0]!
            let penalty = try ((grad.sumOfSquares(axes: [1, 2, 3]) + 1e-12).map(.sqrt) + (-1)).map(.square).mean()
            gp = try Double(penalty.item())
            lossD = try lossD + penalty * 10
        }
        try checkFinite(dValue + (gp ?? 0), "discriminator loss")
        try d.backward(lossD)
        try adamG.update(g)
        try adamD.update(d)
        if let generatorEMA, let beta = o.emaBeta(step: step) {
            try EMA.update(generatorEMA.parameters, toward: g, beta: beta)
        }
        try backend.synchronize()
        step += 1
        let seconds = Date().timeIntervalSince(start)
        return ReHistoGANStepStats(step: step, adversarialLoss: stats.adv, histogramLoss: stats.hist,
                                   reconstructionLoss: stats.rec, varianceLoss: variance, discriminatorLoss: dValue,
                                   gradientPenalty: gp, seconds: seconds, imagesPerSecond: Double(n) / max(seconds, 1e-9))
    }

    func checkFinite(_ value: Double, _ what: String) throws {
        guard value.isFinite else {
            throw HistoGANError.nonFinite("\(what) is \(value) at step \(step + 1): stopping; the last checkpoint is intact")
        }
    }
}

/// The reconstruction and variance terms of the official ReHistoGAN generator loss.
public enum ReHistoGANLosses {
    /// The official Laplacian kernel `[[0,1,0],[1,−4,1],[0,1,0]]` expanded over the 3 input channels into one
    /// output, `[1, 3, 3, 3]`: it takes the Laplacian of R + G + B.
    public static func laplacianKernel(on backend: any Backend) throws -> Tensor {
        let k: [Float] = [0, 1, 0, 1, -4, 1, 0, 1, 0]
        return try Tensor(Array([[Float]](repeating: k, count: 3).joined()), shape: [1, 3, 3, 3], on: backend)
    }

    /// A normalised `size`² Gaussian (σ), one per channel for a depthwise conv, `[3, 1, size, size]`.
    public static func gaussianKernel(size: Int, sigma: Double, on backend: any Backend) throws -> Tensor {
        let mean = Double(size - 1) / 2
        var k = [Double](repeating: 0, count: size * size)
        for y in 0..<size { for x in 0..<size {
            k[y * size + x] = exp(-((Double(x) - mean) * (Double(x) - mean) + (Double(y) - mean) * (Double(y) - mean)) / (2 * sigma * sigma))
        } }
        let total = k.reduce(0, +)
        let plane = k.map { Float($0 / total) }
        return try Tensor(Array([[Float]](repeating: plane, count: 3).joined()), shape: [3, 1, size, size], on: backend)
    }

    /// `mean |∇²Σ_c a − ∇²Σ_c b|` (zero padding), a, b `[N, 3, H, W]`.
    public static func laplacianL1(_ a: Tensor, _ b: Tensor, kernel: Tensor) throws -> Tensor {
        try (Tensor.conv2d(a, weight: kernel, padding: 1) - Tensor.conv2d(b, weight: kernel, padding: 1)).map(.abs).mean()
    }

    /// The official variance term, `−mean_i Σ|T_i − H(x_i)| · mean |s(g∗x) − s(g∗G(x))|` with g the Gaussian
    /// (valid conv) and s(y) = std_w(std_h(y)) per sample and channel (unbiased): the further the target lies from
    /// the input's colours, the more the output's spread may differ from the input's. (The official code takes
    /// the histogram of its target histograms by mistake and sums over the batch; this is the term it intends,
    /// averaged over the batch.)
    public static func varianceTerm(input: Tensor, output: Tensor, inputHistograms: Tensor, targets: Tensor,
                                    kernel: Tensor) throws -> Tensor {
        let n = input.shape[0]
        let distance = try Autograd.withoutGrad { try (targets - inputHistograms).map(.abs).sum() * (1 / Float(n)) }
        let spreadIn = try Autograd.withoutGrad { try spread(Tensor.conv2d(input, weight: kernel, groups: 3)) }
        let spreadOut = try spread(Tensor.conv2d(output, weight: kernel, groups: 3))
        return try (spreadIn - spreadOut).map(.abs).mean() * distance.map(.neg)
    }

    /// std over axis 3 of std over axis 2 (unbiased, as torch.std), `[N, C, H, W]` → `[N, C]`.
    static func spread(_ y: Tensor) throws -> Tensor {
        func std(_ t: Tensor, axis: Int) throws -> Tensor {
            let count = Float(t.shape[axis])
            let centred = try t - t.mean(axes: [axis], keepDims: true)
            return try (centred.map(.square).sum(axes: [axis]) * (1 / max(count - 1, 1)) + 1e-12).map(.sqrt)
        }
        return try std(std(y, axis: 2), axis: 2)
    }
}
