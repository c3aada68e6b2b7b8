import Engine
import Foundation

/// A training run in a directory: `checkpoint.safetensors`, `log.jsonl` (one JSON object per log interval),
/// `samples/step-NNNNNN.png` grids (fixed seeds × fixed target histograms from the data), and `options.json`.
/// `resume` continues from the checkpoint exactly where it stopped.
public final class TrainingRun {
    public let directory: String
    public let trainer: Trainer
    public let dataset: ImageDataset
    let prefetcher: BatchPrefetcher
    /// Histograms of every training image; each step's targets interpolate two of them.
    public let targetBank: TargetHistogramBank
    /// Target histograms of the sample grid rows (from fixed dataset images).
    let sampleTargets: Tensor
    let sampleTargetImages: [Float]

    /// Opens `directory` for `options` on `backend`; with `resume`, restores the checkpoint found there
    /// (its options win, except `steps`, which may be raised to continue training).
    public init(directory: String, options: TrainingOptions, dataset: ImageDataset, backend: any Backend, resume: Bool) throws {
        self.directory = directory
        self.dataset = dataset
        let checkpointPath = directory + "/" + Checkpoint.fileName
        var effective = options
        if resume {
            guard FileManager.default.fileExists(atPath: checkpointPath) else {
                throw HistoGANError.checkpoint("--resume: no \(Checkpoint.fileName) in \(directory)")
            }
            effective = try Checkpoint.options(at: checkpointPath)
            effective.steps = options.steps
        } else if FileManager.default.fileExists(atPath: checkpointPath) {
            throw HistoGANError.checkpoint("\(directory) already holds a checkpoint: pass --resume to continue it, or choose another --output")
        }
        guard dataset.resolution == effective.network.resolution else {
            throw HistoGANError.invalidConfig("dataset resolution \(dataset.resolution) differs from the run's \(effective.network.resolution)")
        }
        trainer = try Trainer(options: effective, backend: backend)
        if resume {
            try Checkpoint.restore(trainer, from: checkpointPath)
            try LogFile(path: directory + "/log.jsonl").dropRecords(after: trainer.step)
        }
        targetBank = try TargetHistogramBank(dataset: dataset, source: effective.targetSource, options: effective.histogram,
                                             backend: backend)
        prefetcher = BatchPrefetcher(dataset: dataset, options: effective)
        try FileManager.default.createDirectory(atPath: directory + "/samples", withIntermediateDirectories: true)
        let r = effective.network.resolution
        let rows = min(4, dataset.count)
        let targetImages = dataset.batch((0..<rows).map { $0 * dataset.count / rows }, flips: [Bool](repeating: false, count: rows))
        sampleTargetImages = targetImages
        sampleTargets = try Autograd.withoutGrad {
            let images = try Tensor(targetImages, shape: [rows, 3, r, r], on: backend)
            return try Tensor.rgbuvHistogram((images + 1) * 0.5, options: effective.histogram)
        }
        let optionsJSON = try JSONEncoder.pretty.encode(effective)
        try AtomicFile.write(optionsJSON, to: directory + "/options.json")
    }

    /// Trains until `options.steps`, calling `report` after every step. Checkpoints every
    /// `checkpointInterval` steps and at the end; a NaN loss stops with the last checkpoint intact.
    public func run(report: (StepStats) -> Void) throws {
        let o = trainer.options
        let r = o.network.resolution
        let log = try LogFile(path: directory + "/log.jsonl")
        while trainer.step < o.steps {
            let host = prefetcher.batches(step: trainer.step)
            let batches = try host.map { try Tensor($0, shape: [o.microBatch, 3, r, r], on: trainer.backend) }
            let targets = try (0..<o.accumulate).map { k in
                try targetBank.targets(targetBank.draws(step: trainer.step, k: k, size: o.microBatch, seed: o.seed), on: trainer.backend)
            }
            let stats = try trainer.trainStep(realBatches: batches, targets: targets)
            report(stats)
            if stats.step % o.logInterval == 0 || stats.step == o.steps { try log.append(stats) }
            if stats.step % o.sampleInterval == 0 || stats.step == o.steps { try writeSamples() }
            if stats.step % o.checkpointInterval == 0 || stats.step == o.steps { try Checkpoint.save(trainer, to: directory) }
        }
    }

    /// Writes `samples/step-NNNNNN.png`: one row per target histogram, 6 fixed seeds, EMA generator, with the
    /// target's source image in the first column.
    public func writeSamples() throws {
        let path = String(format: "%@/samples/step-%06d.png", directory, trainer.step)
        try SampleGrid.write(generator: trainer.generatorEMA, targets: sampleTargets, targetImages: sampleTargetImages,
                             seeds: Array(0..<6), truncation: 1, to: path)
    }
}

/// Appends JSON lines to a file, creating it when missing.
struct LogFile {
    let path: String
    init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw HistoGANError.checkpoint("\(path): cannot create the log file")
            }
        }
    }

    /// Removes the records whose `step` is past `step` (written by a run killed after its last checkpoint), so
    /// a resumed run does not log those steps twice. Rewrites the file atomically.
    func dropRecords(after step: Int) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        struct Step: Decodable { var step: Int }
        var kept = Data(), dropped = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: true) {
            if let record = try? JSONDecoder().decode(Step.self, from: Data(line)), record.step > step { dropped += 1; continue }
            kept.append(contentsOf: line)
            kept.append(0x0A)
        }
        if dropped > 0 { try AtomicFile.write(kept, to: path) }
    }

    func append<T: Encodable>(_ record: T) throws {
        var line = try JSONEncoder.sorted.encode(record)
        line.append(0x0A)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw HistoGANError.checkpoint("\(path): cannot open the log file") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}
