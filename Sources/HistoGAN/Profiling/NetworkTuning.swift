import Engine
import Foundation

/// The autotune of `histogan-gpu tune`: tile shapes and K splits for the conv and GEMM launches of one
/// network's training step, written as the device's tuning table beside the kernel binaries.
///
/// 1. Build a `Trainer` for `options` on the OpenCL backend, with the table turned off (heuristics only).
/// 2. Record the conv and GEMM shapes of one training step (Generator and Discriminator, forward and
///    backward, with R1 and path length, which run at step 0) on demo images.
/// 3. `OpenCLTuner` times the candidates of each shape class and checks them against the heuristic.
/// 4. Save the table atomically (merged over an existing table of the same device: classes measured now
///    replace older entries) and switch the backend to it.
public enum NetworkTuning {
    /// The measured table and where it was written (nil when there is no cache directory).
    public struct Result: Sendable {
        public var table: TuningTable
        /// The entries measured by this run (the table may also hold older entries of other shape classes).
        public var measured: [TuningTable.Entry]
        public var path: String?
        /// Conv and GEMM launches of the recorded step, and the shape classes they fall into.
        public var launches: Int
        public var classes: Int
    }

    /// Tunes `backend` for the training step of `options` and saves the table under `settings.directory`.
    /// `progress` receives a line per stage and per shape class.
    public static func tune(options: TrainingOptions, backend: any Backend, settings: TuningSettings = .fromEnvironment(),
                            warmRuns: Int = 1, timedRuns: Int = 3,
                            progress: (String) -> Void = { _ in }) throws -> Result {
        guard let cl = backend as? OpenCLBackend else {
            throw TuningError.notOpenCL("\(backend.info.selector) (\(backend.info.name)) is not an OpenCL device")
        }
        let previous = cl.tuningTable
        cl.useTuningTable(nil)
        let trainer = try Trainer(options: options, backend: cl)
        let (batches, targets) = try demoInputs(options, backend: cl)
        progress("recording one training step (\(options.network.resolution)x\(options.network.resolution), capacity \(options.network.capacity), batch \(options.batch))")
        let (_, problems) = try cl.recordingTuningProblems {
            try trainer.trainStep(realBatches: batches, targets: targets)
        }
        let tuner = OpenCLTuner(backend: cl, warmRuns: warmRuns, timedRuns: timedRuns)
        let classes = OpenCLTuner.representatives(problems).count
        progress("\(problems.count) conv/GEMM launches in \(classes) shape classes; timing candidates")
        let measured: TuningTable
        do { measured = try tuner.tune(problems, progress: progress) } catch {
            cl.useTuningTable(previous)
            throw error
        }
        var table = measured
        if let directory = settings.directory, let old = try? TuningTable.load(for: measured.key, in: directory) {
            let fresh = Set(measured.entries.map(\.shapeClass))
            table.entries = old.entries.filter { !fresh.contains($0.shapeClass) } + measured.entries
        }
        let path = try settings.directory.map { try table.save(in: $0) }
        cl.useTuningTable(settings.enabled ? table : nil)
        return Result(table: table, measured: measured.entries, path: path, launches: problems.count, classes: classes)
    }

    /// Demo images and target histograms for one step of `options` (the inputs `profile` uses).
    static func demoInputs(_ o: TrainingOptions, backend: any Backend) throws -> (batches: [Tensor], targets: [Tensor]) {
        let r = o.network.resolution
        let demo = DemoDataGenerator(resolution: r, seed: 11)
        let batches = try (0..<o.accumulate).map { k in
            try Tensor((0..<o.microBatch).flatMap { demo.image(k * o.microBatch + $0).map { $0 * 2 - 1 } },
                       shape: [o.microBatch, 3, r, r], on: backend)
        }
        let bank = try TargetHistogramBank(images: Tensor.concat(batches, axis: 0), options: o.histogram)
        let targets = try (0..<o.accumulate).map { k in
            try bank.targets(bank.draws(step: 0, k: k, size: o.microBatch, seed: o.seed), on: backend)
        }
        return (batches, targets)
    }
}
