import Engine
import Foundation

/// A classic-GAN training run in a directory, with `train`'s conventions: `checkpoint.safetensors` (atomic),
/// `log.jsonl`, `samples/step-NNNNNN.png` grids (rows = classes for the conditional models) and `options.json`.
/// `resume` continues exactly where the checkpoint stopped.
public final class ClassicTrainingRun {
    public let directory: String
    public let trainer: ClassicTrainer
    public let dataset: LabelledDataset

    /// Opens `directory`; with `resume`, restores its checkpoint (whose options win, except `steps`).
    public init(directory: String, options: ClassicGANOptions, dataset: LabelledDataset, backend: any Backend, resume: Bool) throws {
        self.directory = directory
        self.dataset = dataset
        let checkpointPath = try Checkpoint.runCheckpoint(in: directory, resume: resume)
        var effective = options
        if resume {
            effective = try ClassicCheckpoint.options(at: checkpointPath)
            effective.steps = options.steps
        }
        let net = effective.network
        guard dataset.resolution == net.resolution, dataset.channels == net.channels else {
            throw HistoGANError.invalidConfig("\(dataset.source) has \(dataset.channels)x\(dataset.resolution)² images, the run \(net.channels)x\(net.resolution)²")
        }
        if net.model.isConditional && dataset.labelCount != net.labelCount {
            throw HistoGANError.invalidConfig("\(dataset.source) has \(dataset.labelCount) classes or tags, the run \(net.labelCount)")
        }
        trainer = try ClassicTrainer(options: effective, backend: backend)
        if resume {
            try ClassicCheckpoint.restore(trainer, from: checkpointPath)
            try LogFile(path: directory + "/log.jsonl").dropRecords(after: trainer.step)
        }
        try FileManager.default.createDirectory(atPath: directory + "/samples", withIntermediateDirectories: true)
        try AtomicFile.write(JSONEncoder.pretty.encode(effective), to: directory + "/options.json")
    }

    /// Trains until `options.steps` (or the first step that ends after `deadline`), calling `report` after every
    /// step; logs, samples and checkpoints at their intervals and at the end. Returns the steps completed.
    @discardableResult
    public func run(deadline: Date? = nil, report: (ClassicStepStats) -> Void) throws -> Int {
        let o = trainer.options
        let log = try LogFile(path: directory + "/log.jsonl")
        while trainer.step < o.steps {
            let stats = try trainer.trainStep(dataset: dataset)
            report(stats)
            let last = stats.step == o.steps || deadline.map { Date() >= $0 } == true
            if stats.step % o.logInterval == 0 || last { try log.append(stats) }
            if stats.step % o.sampleInterval == 0 || last { try writeSamples() }
            if stats.step % o.checkpointInterval == 0 || last { try ClassicCheckpoint.save(trainer, to: directory) }
            if last { break }
        }
        return trainer.step
    }

    /// Writes `samples/step-NNNNNN.png` from the current generator.
    public func writeSamples() throws {
        let path = String(format: "%@/samples/step-%06d.png", directory, trainer.step)
        try ClassicSampling.writeGrid(trainer.generator, on: trainer.backend, to: path)
    }
}
