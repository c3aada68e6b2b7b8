import Engine
import Foundation

/// Where a training step's time goes, layer by layer (`histogan-gpu profile`).
public struct TrainingProfile: Codable, Sendable {
    /// One layer's share of a step (averaged over the profiled steps).
    public struct Layer: Codable, Sendable {
        public var layer: String
        public var forwardMilliseconds: Double
        public var backwardMilliseconds: Double
        /// Σ of OpenCL kernel times (profiling events); nil on the CPU backend.
        public var kernelMilliseconds: Double?
        /// (forward + backward) / step time.
        public var share: Double
    }

    public var device: String
    public var resolution: Int
    public var batch: Int
    public var steps: Int
    /// Mean wall time of a profiled step (with the per-op synchronisation profiling adds).
    public var stepMilliseconds: Double
    /// Mean wall time of an unprofiled step, measured first.
    public var unprofiledStepMilliseconds: Double
    public var layers: [Layer]
    /// The same time summed by op (`conv2d`, `binary`, ...) over all layers, largest first.
    public var ops: [Op]

    /// One op's total over all layers and both phases (averaged over the profiled steps).
    public struct Op: Codable, Sendable {
        public var op: String
        /// Calls per step.
        public var calls: Double
        public var milliseconds: Double
        /// milliseconds / step time.
        public var share: Double
    }

    /// Runs one warm-up step, `steps` plain steps and `steps` profiled steps of `trainer` on demo images.
    public static func measure(trainer: Trainer, steps: Int = 2) throws -> TrainingProfile {
        let o = trainer.options
        let r = o.network.resolution
        let demo = DemoDataGenerator(resolution: r, seed: 11)
        let batches = try (0..<o.accumulate).map { k in
            try Tensor((0..<o.microBatch).flatMap { demo.image(k * o.microBatch + $0).map { $0 * 2 - 1 } },
                       shape: [o.microBatch, 3, r, r], on: trainer.backend)
        }
        let bank = try TargetHistogramBank(images: Tensor.concat(batches, axis: 0), options: o.histogram)
        let targets = try (0..<o.accumulate).map { k in
            try bank.targets(bank.draws(step: 0, k: k, size: o.microBatch, seed: o.seed), on: trainer.backend)
        }
        _ = try trainer.trainStep(realBatches: batches, targets: targets)
        let plainStart = Date()
        for _ in 0..<steps { _ = try trainer.trainStep(realBatches: batches, targets: targets) }
        let plain = Date().timeIntervalSince(plainStart) / Double(steps)
        let profiler = Profiler()
        let start = Date()
        try Profiler.$current.withValue(profiler) {
            for _ in 0..<steps { _ = try trainer.trainStep(realBatches: batches, targets: targets) }
        }
        let step = Date().timeIntervalSince(start) / Double(steps)
        var byLayer: [String: (f: Double, b: Double, k: Double)] = [:]
        var byOp: [String: (calls: Int, seconds: Double)] = [:]
        for (key, entry) in profiler.records {
            byOp[key.op, default: (0, 0)].calls += entry.calls
            byOp[key.op, default: (0, 0)].seconds += entry.wallSeconds
            let name = key.scope.isEmpty ? "(losses, histogram, optimizer, other ops)" : key.scope
            var v = byLayer[name] ?? (0, 0, 0)
            if key.phase == "backward" { v.b += entry.wallSeconds } else { v.f += entry.wallSeconds }
            v.k += entry.kernelSeconds
            byLayer[name] = v
        }
        let isOpenCL = trainer.backend.info.kind == .opencl
        let n = Double(steps)
        let layers = byLayer.map { name, v in
            Layer(layer: name, forwardMilliseconds: v.f / n * 1000, backwardMilliseconds: v.b / n * 1000,
                  kernelMilliseconds: isOpenCL ? v.k / n * 1000 : nil, share: (v.f + v.b) / n / step)
        }.sorted { $0.forwardMilliseconds + $0.backwardMilliseconds > $1.forwardMilliseconds + $1.backwardMilliseconds }
        let ops = byOp.map { name, v in
            Op(op: name, calls: Double(v.calls) / n, milliseconds: v.seconds / n * 1000, share: v.seconds / n / step)
        }.sorted { $0.milliseconds > $1.milliseconds }
        return TrainingProfile(device: trainer.backend.info.selector, resolution: r, batch: o.batch, steps: steps,
                               stepMilliseconds: step * 1000, unprofiledStepMilliseconds: plain * 1000, layers: layers, ops: ops)
    }
}
