import Engine
import Foundation

/// Losses and timings of one optimizer step (the `log.jsonl` record).
public struct StepStats: Codable, Sendable {
    public var step: Int
    public var generatorLoss: Double
    public var histogramLoss: Double
    public var discriminatorLoss: Double
    public var r1Penalty: Double?
    public var pathLengthPenalty: Double?
    public var pathLengthMean: Double
    public var seconds: Double
    public var imagesPerSecond: Double
}

/// HistoGAN training state and one optimizer step (NVlabs phases Gmain, Greg, Dmain, Dreg with lazy
/// regularisation, style mixing, EMA). Every random draw is a Philox stream keyed by (seed, step, phase),
/// so a resumed run repeats an uninterrupted one exactly.
public final class Trainer {
    public let options: TrainingOptions
    public let backend: any Backend
    public let generator: Generator
    public let generatorEMA: Generator
    public let discriminator: Discriminator
    let adamG: Adam
    let adamD: Adam
    /// Optimizer steps taken so far.
    public internal(set) var step = 0
    /// Running mean of path lengths (NVlabs `pl_mean`).
    public internal(set) var pathLengthMean: Float = 0

    public init(options: TrainingOptions, backend: any Backend) throws {
        try options.validate()
        self.options = options
        self.backend = backend
        generator = try Generator(config: options.network, backend: backend, seed: options.seed &+ 1)
        generatorEMA = try Generator(config: options.network, backend: backend, seed: options.seed &+ 1)
        var rng = ParameterInitializer(backend: backend, seed: options.seed &+ 2)
        discriminator = try Discriminator(config: options.network, init: &rng)
        // The regularisers are folded into the main steps with their weight times the interval (the lazy
        // regularisation of NVlabs without its separate optimizer steps), so Adam keeps its plain lr and betas:
        // NVlabs' ratio c = k/(k+1) compensates for the extra steps that a separate phase takes, and there are none.
        adamG = Adam(learningRate: options.learningRate, beta1: options.beta1, beta2: options.beta2)
        adamD = Adam(learningRate: options.learningRate, beta1: options.beta1, beta2: options.beta2)
    }

    // MARK: - Randomness

    /// Philox counter offset of draw `phase`, micro-batch `k` of the current step (disjoint ranges).
    func offset(_ phase: UInt64, _ k: Int) -> UInt64 {
        ((UInt64(step) &* 16 &+ phase) &* 64 &+ UInt64(k)) << 28
    }

    func normal(_ shape: [Int], phase: UInt64, _ k: Int) throws -> Tensor {
        try Tensor.random(shape, .normal, seed: options.seed, offset: offset(phase, k), on: backend)
    }

    /// Host uniform in [0, 1) for decisions (style mixing, cutoff).
    func hostUniform(phase: UInt64, _ k: Int, lane: Int) -> Float {
        let block = Philox.block(seed: options.seed, index: offset(phase, k))
        return Philox.uniform(block[lane])
    }

    // MARK: - Latents

    /// w inputs for micro-batch k with style mixing (probability `styleMixing`, cutoff uniform below the
    /// histogram layers).
    func mixedWs(n: Int, histograms: Tensor, phase: UInt64, k: Int, updateAverage: Bool) throws -> [Tensor] {
        let z = try normal([n, options.network.latentDim], phase: phase, k)
        var mixing: (z: Tensor, cutoff: Int)?
        let first = generator.synthesis.firstHistogramW
        if first > 1, hostUniform(phase: phase + 8, k, lane: 0) < options.styleMixing {
            let cutoff = 1 + Int(hostUniform(phase: phase + 8, k, lane: 1) * Float(first - 1))
            mixing = (try normal([n, options.network.latentDim], phase: phase + 8, k), min(cutoff, first - 1))
        }
        return try generator.ws(z: z, histograms: histograms, mixing: mixing, updateAverage: updateAverage)
    }

    func noise(phase: UInt64, k: Int) -> NoiseSource {
        NoiseSource(seed: options.seed ^ (offset(phase, k) | 0x5bd1e995))
    }

    // MARK: - Step

    /// One optimizer step on `realBatches` (`accumulate` micro-batches `[batch/accumulate, 3, R, R]` in [-1, 1])
    /// with target histograms `targets` (one `[batch/accumulate, 3, bins, bins]` per micro-batch, e.g. from
    /// `TargetHistogramBank`). Throws `HistoGANError.nonFinite` before any parameter changes when a loss is
    /// NaN or infinite.
    public func trainStep(realBatches: [Tensor], targets: [Tensor]) throws -> StepStats {
        guard realBatches.count == options.accumulate, targets.count == options.accumulate else {
            throw HistoGANError.invalidConfig("trainStep needs \(options.accumulate) micro-batches and target batches, got \(realBatches.count) and \(targets.count)")
        }
        let start = Date()
        let g = generator.parameters, d = discriminator.parameters
        let doPL = options.pathLengthWeight > 0 && step % options.pathLengthInterval == 0
        let doR1 = step % options.r1Interval == 0
        var sums = (g: 0.0, hist: 0.0, d: 0.0, r1: 0.0, pl: 0.0)
        let scale = 1 / Double(options.accumulate)
        for (k, real) in realBatches.enumerated() {
            let n = real.shape[0]
            let target = targets[k]
            guard target.shape == [n, 3, options.histogram.bins, options.histogram.bins] else {
                throw HistoGANError.invalidConfig("targets of micro-batch \(k): \(target.shape), expected [\(n), 3, \(options.histogram.bins), \(options.histogram.bins)]")
            }

            // Gmain: adversarial + histogram loss.
            let ws = try mixedWs(n: n, histograms: target, phase: 2, k: k, updateAverage: true)
            let fake = try generator.synthesis(ws, noise: noise(phase: 2, k: k))
            let logits = try discriminator(fake)
            let adv = options.loss == .hinge ? try logits.mean().map(.neg) : try logits.map(.neg).map(.softplus).mean()
            let hist = try HistogramLoss.loss(HistogramLoss.histograms(ofGenerated: fake, options: options.histogram),
                                              target: target, alpha: options.histogramAlpha,
                                              reduction: options.histogramLossReduction)
            let lossG = try adv + hist
            sums.g += try Double(lossG.item()) * scale
            sums.hist += try Double(hist.item()) * scale
            try checkFinite(sums.g, "generator loss")
            try g.backward(lossG)

            // Greg: path-length regularisation on a shrunk batch.
            if doPL {
                let m = max(1, n / options.pathLengthBatchShrink)
                let targetPL = try target.sliced(axis: 0, 0..<m)
                let wsPL = try mixedWs(n: m, histograms: targetPL, phase: 3, k: k, updateAverage: false)
                let images = try generator.synthesis(wsPL, noise: noise(phase: 3, k: k))
                let r = options.network.resolution
                let plNoise = try normal(images.shape, phase: 4, k) * (1 / Float(r))
                // Over the w inputs only (NVlabs and the official code): the histogram path is not regularised.
                let wOnly = Array(wsPL[..<generator.synthesis.firstHistogramW])
                let grads = try Autograd.gradients(of: (images * plNoise).sum(), wrt: wOnly, createGraph: true)
                var total: Tensor?
                for gw in grads.compactMap({ $0 }) {
                    let sq = try gw.sumOfSquares(axes: [1])
                    total = try total.map { try $0 + sq } ?? sq
                }
                guard let total else { throw HistoGANError.nonFinite("path length: no gradient reached w") }
                let lengths = try (total * (1 / Float(wOnly.count))).map(.sqrt)          // [m]
                let meanLength = try Autograd.withoutGrad { try lengths.mean().item() }
                pathLengthMean += (meanLength - pathLengthMean) * options.pathLengthDecay
                let penalty = try (lengths + (-pathLengthMean)).map(.square).mean()
                let lossPL = try penalty * (options.pathLengthWeight * Float(options.pathLengthInterval))
                sums.pl += try Double(penalty.item()) * scale
                try checkFinite(sums.pl, "path-length penalty")
                try g.backward(lossPL)
            }

            // Dmain: fakes (no gradient to G) and reals.
            let fakeD = try Autograd.withoutGrad {
                try generator.synthesis(mixedWs(n: n, histograms: target, phase: 5, k: k, updateAverage: false),
                                        noise: noise(phase: 5, k: k))
            }
            let realInput = doR1 ? real.requiringGrad() : real
            let realLogits = try discriminator(realInput), fakeLogits = try discriminator(fakeD)
            let lossD: Tensor
            if options.loss == .hinge {
                lossD = try (fakeLogits + 1).map(.relu).mean() + (realLogits.map(.neg) + 1).map(.relu).mean()
            } else {
                lossD = try fakeLogits.map(.softplus).mean() + realLogits.map(.neg).map(.softplus).mean()
            }
            var totalD = lossD
            sums.d += try Double(lossD.item()) * scale

            // Dreg: R1 (or the hinge variant's gradient penalty) on reals, lazily.
            if doR1 {
                let gradReal = try Autograd.gradients(of: realLogits.sum(), wrt: [realInput], createGraph: true)[0]!
                let norms = try gradReal.sumOfSquares(axes: [1, 2, 3])
                let penalty: Tensor
                if options.loss == .hinge {
                    // The official code: weight 10 on its schedule, not scaled by the interval.
                    penalty = try ((norms + 1e-12).map(.sqrt) + (-1)).map(.square).mean() * 10
                } else {
                    penalty = try norms.mean() * (options.effectiveR1Gamma / 2 * Float(options.r1Interval))
                }
                sums.r1 += try Double(norms.mean().item()) * scale
                totalD = try totalD + penalty
            }
            try checkFinite(sums.d + sums.r1, "discriminator loss")
            try d.backward(totalD)
        }
        try adamG.update(g, gradScale: Float(scale))
        try adamD.update(d, gradScale: Float(scale))
        let beta = options.emaBeta(step: step)
        try EMA.update(generatorEMA.parameters, toward: generator.parameters, beta: beta)
        try backend.synchronize()
        try Autograd.withoutGrad {
            try backend.emaUpdate(generatorEMA.mapping.wAverage.buffer, toward: generator.mapping.wAverage.buffer, beta: 0,
                                  count: options.network.latentDim)
        }
        step += 1
        let seconds = Date().timeIntervalSince(start)
        return StepStats(step: step, generatorLoss: sums.g, histogramLoss: sums.hist, discriminatorLoss: sums.d,
                         r1Penalty: doR1 ? sums.r1 : nil, pathLengthPenalty: doPL ? sums.pl : nil,
                         pathLengthMean: Double(pathLengthMean), seconds: seconds,
                         imagesPerSecond: Double(options.batch) / max(seconds, 1e-9))
    }

    func checkFinite(_ value: Double, _ what: String) throws {
        guard value.isFinite else {
            throw HistoGANError.nonFinite("\(what) is \(value) at step \(step + 1): stopping; the last checkpoint is intact")
        }
    }
}
