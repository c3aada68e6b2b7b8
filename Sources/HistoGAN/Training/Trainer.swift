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
    /// Seconds spent in the gradient all-reduce (data-parallel runs only; absent in one process).
    public var allReduceSeconds: Double?
}

/// HistoGAN training state and one optimizer step (NVlabs phases Gmain, Greg, Dmain, Dreg with lazy
/// regularisation, style mixing, EMA). Every random draw is a Philox stream keyed by (seed, step, phase,
/// micro-batch), so a resumed run repeats an uninterrupted one exactly.
///
/// Data parallel: with a communicator of N ranks, the step's `accumulate` micro-batches are dealt round-robin
/// (rank r computes micro-batches r, r + N, …) and one bucketed all-reduce sums the gradients, so every rank
/// applies the update one process with the same `accumulate` would: the same images, Philox streams, path-length
/// mean and w average, up to the order of the gradient sum.
public final class Trainer {
    public let options: TrainingOptions
    public let backend: any Backend
    /// The ranks of a data-parallel job (`SingleProcessCommunicator` in one process).
    public let communicator: any Communicator
    let allReduce: GradientAllReduce
    public let generator: Generator
    public let generatorEMA: Generator
    public let discriminator: Discriminator
    let adamG: Adam
    let adamD: Adam
    /// Optimizer steps taken so far.
    public internal(set) var step = 0
    /// Running mean of path lengths (NVlabs `pl_mean`).
    public internal(set) var pathLengthMean: Float = 0

    /// A fresh trainer. With `communicator` of N ranks, `options.accumulate` (micro-batches per step, over all
    /// ranks) must be a multiple of N; gradients travel in all-reduce buckets of `bucketBytes`.
    public init(options: TrainingOptions, backend: any Backend, communicator: any Communicator = SingleProcessCommunicator(),
                bucketBytes: Int = 64 << 20) throws {
        try options.validate()
        guard options.accumulate % communicator.size == 0 else {
            throw HistoGANError.invalidConfig("--accumulate: \(options.accumulate) micro-batches per step cannot be shared by \(communicator.size) ranks")
        }
        self.options = options
        self.backend = backend
        self.communicator = communicator
        allReduce = GradientAllReduce(bucketBytes: bucketBytes)
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
    /// histogram layers); also w = mapping(z) itself (whose batch mean feeds the w average).
    /// Profiler scope `latents` (the mapping and histogram-encoder layers keep their own).
    func mixedWs(n: Int, histograms: Tensor, phase: UInt64, k: Int) throws -> (ws: [Tensor], w: Tensor) {
        try Profiler.withScope("latents") { try unscopedMixedWs(n: n, histograms: histograms, phase: phase, k: k) }
    }

    private func unscopedMixedWs(n: Int, histograms: Tensor, phase: UInt64, k: Int) throws -> (ws: [Tensor], w: Tensor) {
        let z = try normal([n, options.network.latentDim], phase: phase, k)
        var mixing: (z: Tensor, cutoff: Int)?
        let first = generator.synthesis.firstHistogramW
        if first > 1, hostUniform(phase: phase + 8, k, lane: 0) < options.styleMixing {
            let cutoff = 1 + Int(hostUniform(phase: phase + 8, k, lane: 1) * Float(first - 1))
            mixing = (try normal([n, options.network.latentDim], phase: phase + 8, k), min(cutoff, first - 1))
        }
        let w = try generator.mapping(z)
        return (try generator.ws(w: w, histograms: histograms, mixing: mixing), w)
    }

    func noise(phase: UInt64, k: Int) -> NoiseSource {
        NoiseSource(seed: options.seed ^ (offset(phase, k) | 0x5bd1e995))
    }

    // MARK: - Step

    /// Global indices of the micro-batches this rank computes each step: rank r of N takes r, r + N, r + 2N, …,
    /// so every round of the step has one micro-batch per rank (all of them in one process).
    public var localMicroBatches: [Int] {
        Array(stride(from: communicator.rank, to: options.accumulate, by: communicator.size))
    }

    /// Host values each micro-batch reports: G loss, histogram loss, D loss, R1 term, path-length penalty.
    static let reportCount = 5

    /// One optimizer step on this rank's micro-batches `realBatches` (one `[batch/accumulate, 3, R, R]` in [-1, 1]
    /// per entry of `localMicroBatches`) with target histograms `targets` (one `[batch/accumulate, 3, bins, bins]`
    /// per micro-batch, e.g. from `TargetHistogramBank`). Throws `HistoGANError.nonFinite` on every rank, before
    /// any parameter changes, when a loss of any micro-batch is NaN or infinite.
    public func trainStep(realBatches: [Tensor], targets: [Tensor]) throws -> StepStats {
        let local = localMicroBatches
        guard realBatches.count == local.count, targets.count == local.count else {
            throw HistoGANError.invalidConfig("trainStep needs \(local.count) micro-batches and target batches, got \(realBatches.count) and \(targets.count)")
        }
        let start = Date()
        let g = generator.parameters, d = discriminator.parameters
        let doPL = options.pathLengthWeight > 0 && step % options.pathLengthInterval == 0
        let doR1 = step % options.r1Interval == 0
        let startPathLengthMean = pathLengthMean
        // Per local micro-batch, in order: its 5 reports and its batch-mean w, kept on the device and read in one
        // transfer after the last micro-batch (a read waits for the queue to drain; one per loss would stall it).
        var pendingReports: [Tensor] = [], pendingMeanWs: [Tensor] = []
        // Each micro-batch's gradient is summed on its own, then added to the others in order, as the ranks' are.
        let all = ParameterCollection(g.parameters + d.parameters)
        for (j, real) in realBatches.enumerated() { try all.accumulatingSeparately {
            let k = local[j], n = real.shape[0], target = targets[j]
            guard target.shape == [n, 3, options.histogram.bins, options.histogram.bins] else {
                throw HistoGANError.invalidConfig("targets of micro-batch \(k): \(target.shape), expected [\(n), 3, \(options.histogram.bins), \(options.histogram.bins)]")
            }
            var report: [Tensor?] = [Tensor?](repeating: nil, count: Self.reportCount)

            // Gmain: adversarial + histogram loss.
            let (ws, w) = try mixedWs(n: n, histograms: target, phase: 2, k: k)
            pendingMeanWs.append(try Autograd.withoutGrad { try MappingNetwork.batchMean(w).detached() })
            let fake = try generator.synthesis(ws, noise: noise(phase: 2, k: k))
            let logits = try discriminator(fake)
            // Profiler scopes name the loss and regulariser ops (reverse passes are attributed to them too).
            let adv = try Profiler.withScope("loss.adversarial") {
                options.loss == .hinge ? try logits.mean().map(.neg) : try logits.map(.neg).map(.softplus).mean()
            }
            let hist = try Profiler.withScope("loss.histogram") {
                try HistogramLoss.loss(HistogramLoss.histograms(ofGenerated: fake, options: options.histogram),
                                       target: target, alpha: options.histogramAlpha, reduction: options.histogramLossReduction)
            }
            let lossG = try adv + hist
            report[0] = lossG.detached()
            report[1] = hist.detached()
            try g.backward(lossG)

            // Greg: path-length regularisation on a shrunk batch.
            if doPL { try Profiler.withScope("reg.path-length") {
                let m = max(1, n / options.pathLengthBatchShrink)
                let targetPL = try target.sliced(axis: 0, 0..<m)
                let wsPL = try mixedWs(n: m, histograms: targetPL, phase: 3, k: k).ws
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
                // The running mean moves through the micro-batches in order. This round's micro-batches (one per
                // rank) exchange their means, so every rank steps through all of them and uses the value after its own.
                let round = try communicator.allGather([meanLength])
                var own = pathLengthMean
                for (rank, length) in round.enumerated() {
                    pathLengthMean += (length[0] - pathLengthMean) * options.pathLengthDecay
                    if rank == communicator.rank { own = pathLengthMean }
                }
                let penalty = try (lengths + (-own)).map(.square).mean()
                let lossPL = try penalty * (options.pathLengthWeight * Float(options.pathLengthInterval))
                report[4] = penalty.detached()
                try g.backward(lossPL)
            } }

            // Dmain: fakes (no gradient to G) and reals.
            let fakeD = try Autograd.withoutGrad {
                try generator.synthesis(mixedWs(n: n, histograms: target, phase: 5, k: k).ws, noise: noise(phase: 5, k: k))
            }
            let realInput = doR1 ? real.requiringGrad() : real
            let realLogits = try discriminator(realInput), fakeLogits = try discriminator(fakeD)
            let lossD = try Profiler.withScope("loss.discriminator") {
                options.loss == .hinge
                    ? try (fakeLogits + 1).map(.relu).mean() + (realLogits.map(.neg) + 1).map(.relu).mean()
                    : try fakeLogits.map(.softplus).mean() + realLogits.map(.neg).map(.softplus).mean()
            }
            var totalD = lossD
            report[2] = lossD.detached()

            // Dreg: R1 (or the hinge variant's gradient penalty) on reals, lazily.
            if doR1 { try Profiler.withScope("reg.r1") {
                let gradReal = try Autograd.gradients(of: realLogits.sum(), wrt: [realInput], createGraph: true)[0]!
                let norms = try gradReal.sumOfSquares(axes: [1, 2, 3])
                let penalty: Tensor
                if options.loss == .hinge {
                    // The official code: weight 10 on its schedule, not scaled by the interval.
                    penalty = try ((norms + 1e-12).map(.sqrt) + (-1)).map(.square).mean() * 10
                } else {
                    penalty = try norms.mean() * (options.effectiveR1Gamma / 2 * Float(options.r1Interval))
                }
                report[3] = try Autograd.withoutGrad { try norms.mean().detached() }
                totalD = try totalD + penalty
            } }
            try d.backward(totalD)
            pendingReports.append(try Autograd.withoutGrad {
                try Tensor.concat(report.map { try ($0 ?? Tensor.zeros([1], on: backend)).reshaped([1]) }, axis: 0)
            })
        } }
        let host = try Autograd.withoutGrad { try Tensor.concat(pendingReports + pendingMeanWs, axis: 0).array() }
        let reports = Array(host[..<(pendingReports.count * Self.reportCount)])
        let meanWs = Array(host[(pendingReports.count * Self.reportCount)...])

        // One bucketed all-reduce carries the gradients of G and D and every rank's reports (each in its own slot).
        let perRank = reports + meanWs
        var byRank = [perRank]
        var allReduceSeconds: Double?
        if communicator.size > 1 {
            let t = Date()
            let size = communicator.size, count = perRank.count
            var slots = [Float](repeating: 0, count: size * count)
            slots.replaceSubrange(communicator.rank * count ..< (communicator.rank + 1) * count, with: perRank)
            let summed = try allReduce.run(g.parameters + d.parameters, extra: slots, communicator: communicator)
            byRank = (0..<size).map { Array(summed[$0 * count ..< ($0 + 1) * count]) }
            allReduceSeconds = Date().timeIntervalSince(t)
        }
        // Micro-batch k was computed by rank k % N as its local micro-batch k / N.
        let ranks = communicator.size, perRankCount = local.count, latent = options.network.latentDim
        func report(_ k: Int) -> ArraySlice<Float> {
            byRank[k % ranks][(k / ranks) * Self.reportCount ..< (k / ranks + 1) * Self.reportCount]
        }
        func meanW(_ k: Int) -> [Float] {
            let base = perRankCount * Self.reportCount + (k / ranks) * latent
            return Array(byRank[k % ranks][base ..< base + latent])
        }

        // The sums and finite checks of one process, in its order: every rank reaches the same verdict.
        let scale = 1 / Double(options.accumulate)
        var sums = (g: 0.0, hist: 0.0, d: 0.0, r1: 0.0, pl: 0.0)
        do {
            for k in 0..<options.accumulate {
                let v = Array(report(k))
                sums.g += Double(v[0]) * scale
                sums.hist += Double(v[1]) * scale
                try checkFinite(sums.g, "generator loss")
                if doPL {
                    sums.pl += Double(v[4]) * scale
                    try checkFinite(sums.pl, "path-length penalty")
                }
                sums.d += Double(v[2]) * scale
                if doR1 { sums.r1 += Double(v[3]) * scale }
                try checkFinite(sums.d + sums.r1, "discriminator loss")
            }
        } catch {
            pathLengthMean = startPathLengthMean
            g.zeroGrad()
            d.zeroGrad()
            throw error
        }
        try Profiler.withScope("optimizer") {
            for k in 0..<options.accumulate {
                try generator.mapping.updateAverage(toward: Tensor(meanW(k), shape: [latent], on: backend))
            }
            try adamG.update(g, gradScale: Float(scale))
            try adamD.update(d, gradScale: Float(scale))
            try EMA.update(generatorEMA.parameters, toward: generator.parameters, beta: options.emaBeta(step: step))
            try backend.synchronize()
            try Autograd.withoutGrad {
                try backend.emaUpdate(generatorEMA.mapping.wAverage.buffer, toward: generator.mapping.wAverage.buffer, beta: 0,
                                      count: options.network.latentDim)
            }
        }
        step += 1
        let seconds = Date().timeIntervalSince(start)
        return StepStats(step: step, generatorLoss: sums.g, histogramLoss: sums.hist, discriminatorLoss: sums.d,
                         r1Penalty: doR1 ? sums.r1 : nil, pathLengthPenalty: doPL ? sums.pl : nil,
                         pathLengthMean: Double(pathLengthMean), seconds: seconds,
                         imagesPerSecond: Double(options.batch) / max(seconds, 1e-9), allReduceSeconds: allReduceSeconds)
    }

    func checkFinite(_ value: Double, _ what: String) throws {
        guard value.isFinite else {
            throw HistoGANError.nonFinite("\(what) is \(value) at step \(step + 1): stopping; the last checkpoint is intact")
        }
    }

    // MARK: - Replicas

    /// A fingerprint of the state every rank must hold bit for bit: the G, D and G_ema parameters, both w averages
    /// and the path-length mean.
    public func stateFingerprint() throws -> UInt64 {
        var f = Fingerprint()
        for c in [generator.parameters, discriminator.parameters, generatorEMA.parameters] { try f.add(c) }
        f.add(try generator.mapping.wAverage.array())
        f.add(try generatorEMA.mapping.wAverage.array())
        f.add([pathLengthMean])
        return f.value
    }

    /// Compares `stateFingerprint()` over every rank; when they differ, throws `HistoGANError.distributed` on every
    /// rank with each rank's fingerprint.
    public func verifyReplicas() throws {
        let all = try communicator.allGather(stateFingerprint())
        guard Set(all).count == 1 else {
            let listed = all.enumerated().map { "rank \($0.offset): \(String($0.element, radix: 16))" }.joined(separator: ", ")
            throw HistoGANError.distributed("the ranks' parameters differ at step \(step) (\(listed)); the replicas diverged")
        }
    }
}
