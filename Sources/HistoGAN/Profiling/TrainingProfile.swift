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
        /// OpenCL kernel launches per step, forward and backward; nil on the CPU backend.
        public var launches: Double?
        /// Those launches by kernel name (`unary`, `conv2d_fwd`, ...); nil on the CPU backend.
        public var kernelLaunches: [String: Double]?
        /// (forward + backward) / step time.
        public var share: Double
    }

    public var device: String
    public var resolution: Int
    public var batch: Int
    public var steps: Int
    /// Mean wall time of a profiled step (with the per-op synchronisation profiling adds).
    public var stepMilliseconds: Double
    /// Mean wall time of a plain step (no profiling events, every regulariser on its schedule), measured first.
    public var unprofiledStepMilliseconds: Double
    /// Steps the plain time is the mean of.
    public var plainSteps: Int
    /// Kernel launches per plain step (nil on the CPU backend, which launches no kernels).
    public var launchesPerStep: Double?
    /// CPU time per plain step of the thread that drives it (building ops, autograd, setting arguments and
    /// enqueueing); on an OpenCL device, which runs the kernels on its own, a step cannot be faster than this.
    /// Nil on the CPU backend, where that thread also runs the kernels, and in reports written before it was recorded.
    public var hostMillisecondsPerStep: Double?
    /// `hostMillisecondsPerStep` / the plain step time: near 1 the device waits for the host, and fewer launches or
    /// less host work per launch pay before faster kernels. Nil where the host time is nil.
    public var hostShare: Double? { hostMillisecondsPerStep.map { $0 / unprofiledStepMilliseconds } }
    /// The host share from which `profile` calls a step host-bound.
    public static let hostBoundShare = 0.8
    public var layers: [Layer]
    /// The same time summed by op (`conv2d`, `binary`, ...) over all layers, largest first.
    public var ops: [Op]
    /// OpenCL kernels by name (`conv2d_fwd`, `adam_step`, ...): launches and device time per profiled step,
    /// largest time first; empty on the CPU backend.
    public var kernels: [Kernel] = []
    /// How the GEMMs multiplied (`fp32`, or `tf32` with `--tf32`); nil in reports written before it was recorded.
    public var matmulArithmetic: MatmulArithmetic?

    /// One op's total over all layers and both phases (averaged over the profiled steps).
    public struct Op: Codable, Sendable {
        public var op: String
        /// Calls per step.
        public var calls: Double
        public var milliseconds: Double
        /// milliseconds / step time.
        public var share: Double
    }

    /// One OpenCL kernel's launches and device time (averaged over the profiled steps).
    public struct Kernel: Codable, Sendable {
        public var kernel: String
        /// Launches per step.
        public var launches: Double
        /// Σ device time (profiling events) per step.
        public var milliseconds: Double
    }

    /// Steps that hold every regulariser on its schedule once per period: lcm(R1 interval, path-length interval)
    /// (16 for NVlabs' 16 and 4), so a mean over them is the mean step of a long run.
    public static func regulariserPeriod(_ o: TrainingOptions) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let (r, p) = (max(1, o.r1Interval), o.pathLengthWeight > 0 ? max(1, o.pathLengthInterval) : 1)
        return r / gcd(r, p) * p
    }

    /// The step time of a training run and where it goes:
    /// 1. plain timing on `plainTrainer` (a trainer on a backend without profiling events, so launches do not
    ///    wait; default `trainer`): one warm-up step, then `plainSteps` (default `regulariserPeriod`) steps, with
    ///    the backend's kernel launches counted;
    /// 2. `steps` profiled steps of `trainer` under a `Profiler`, giving the per-layer and per-op tables.
    /// Both run on the same demo images and targets.
    public static func measure(trainer: Trainer, steps: Int = 2, plainTrainer: Trainer? = nil,
                               plainSteps: Int? = nil) throws -> TrainingProfile {
        let o = trainer.options
        let r = o.network.resolution
        func inputs(_ backend: any Backend) throws -> (batches: [Tensor], targets: [Tensor]) {
            try NetworkTuning.demoInputs(o, backend: backend)
        }
        let plainTrainer = plainTrainer ?? trainer
        let plainSteps = max(1, plainSteps ?? regulariserPeriod(o))
        let plainInputs = try inputs(plainTrainer.backend)
        _ = try plainTrainer.trainStep(realBatches: plainInputs.batches, targets: plainInputs.targets)
        try plainTrainer.backend.synchronize()
        let launchesBefore = plainTrainer.backend.kernelLaunches
        let plainStart = Date(), hostStart = threadCPUSeconds()
        for _ in 0..<plainSteps { _ = try plainTrainer.trainStep(realBatches: plainInputs.batches, targets: plainInputs.targets) }
        try plainTrainer.backend.synchronize()
        let plain = Date().timeIntervalSince(plainStart) / Double(plainSteps)
        let host = (threadCPUSeconds() - hostStart) / Double(plainSteps)
        var launches: Double?
        if let before = launchesBefore, let after = plainTrainer.backend.kernelLaunches {
            launches = Double(after - before) / Double(plainSteps)
        }

        let (batches, targets) = plainTrainer === trainer ? plainInputs : try inputs(trainer.backend)
        if plainTrainer !== trainer { _ = try trainer.trainStep(realBatches: batches, targets: targets) }
        let profiler = Profiler()
        let start = Date()
        try Profiler.$current.withValue(profiler) {
            for _ in 0..<steps { _ = try trainer.trainStep(realBatches: batches, targets: targets) }
        }
        let step = Date().timeIntervalSince(start) / Double(steps)
        var byLayer: [String: (f: Double, b: Double, k: Double, launches: Int)] = [:]
        var layerKernels: [String: [String: Int]] = [:]
        var byOp: [String: (calls: Int, seconds: Double)] = [:]
        var byKernel: [String: (launches: Int, seconds: Double)] = [:]
        for (key, entry) in profiler.records {
            if entry.calls > 0 {
                byOp[key.op, default: (0, 0)].calls += entry.calls
                byOp[key.op, default: (0, 0)].seconds += entry.wallSeconds
            }
            if entry.launches > 0 {
                byKernel[key.op, default: (0, 0)].launches += entry.launches
                byKernel[key.op, default: (0, 0)].seconds += entry.kernelSeconds
            }
            let name = key.scope.isEmpty ? "(losses, histogram, optimizer, other ops)" : key.scope
            var v = byLayer[name] ?? (0, 0, 0, 0)
            if key.phase == "backward" { v.b += entry.wallSeconds } else { v.f += entry.wallSeconds }
            v.k += entry.kernelSeconds
            v.launches += entry.launches
            byLayer[name] = v
            if entry.launches > 0 { layerKernels[name, default: [:]][key.op, default: 0] += entry.launches }
        }
        let isOpenCL = trainer.backend.info.kind == .opencl
        let n = Double(steps)
        let layers = byLayer.map { name, v in
            Layer(layer: name, forwardMilliseconds: v.f / n * 1000, backwardMilliseconds: v.b / n * 1000,
                  kernelMilliseconds: isOpenCL ? v.k / n * 1000 : nil, launches: isOpenCL ? Double(v.launches) / n : nil,
                  kernelLaunches: isOpenCL ? (layerKernels[name] ?? [:]).mapValues { Double($0) / n } : nil,
                  share: (v.f + v.b) / n / step)
        }.sorted { $0.forwardMilliseconds + $0.backwardMilliseconds > $1.forwardMilliseconds + $1.backwardMilliseconds }
        let ops = byOp.map { name, v in
            Op(op: name, calls: Double(v.calls) / n, milliseconds: v.seconds / n * 1000, share: v.seconds / n / step)
        }.sorted { $0.milliseconds > $1.milliseconds }
        let kernels = byKernel.map { name, v in
            Kernel(kernel: name, launches: Double(v.launches) / n, milliseconds: v.seconds / n * 1000)
        }.sorted { $0.milliseconds > $1.milliseconds }
        return TrainingProfile(device: trainer.backend.info.selector, resolution: r, batch: o.batch, steps: steps,
                               stepMilliseconds: step * 1000, unprofiledStepMilliseconds: plain * 1000, plainSteps: plainSteps,
                               launchesPerStep: launches,
                               hostMillisecondsPerStep: plainTrainer.backend.info.kind == .opencl ? host * 1000 : nil,
                               layers: layers, ops: ops, kernels: kernels,
                               matmulArithmetic: trainer.backend.matmulArithmetic)
    }

    /// CPU seconds the calling thread has run (`CLOCK_THREAD_CPUTIME_ID`, user and kernel mode): its own work, not
    /// the time it waited.
    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
