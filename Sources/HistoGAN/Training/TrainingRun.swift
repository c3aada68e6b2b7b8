import Engine
import Foundation

/// A training run in a directory: `checkpoint.safetensors`, `log.jsonl` (one JSON object per log interval),
/// `samples/step-NNNNNN.png` grids (fixed seeds × fixed target histograms from the data), and `options.json`.
/// `resume` continues from the checkpoint exactly where it stopped.
///
/// Data parallel (a communicator of N ranks): every rank trains its share of each step's micro-batches and
/// holds the same state; rank 0 alone writes files. Every `checksumInterval` steps the ranks compare a
/// fingerprint of their parameters.
public final class TrainingRun {
    public let directory: String
    public let trainer: Trainer
    /// Steps between replica checks (data-parallel runs).
    public let checksumInterval: Int
    /// What the caller should tell the user about choices made here (e.g. a resumed run re-dealt over N ranks).
    public private(set) var notes: [String] = []
    public let dataset: ImageDataset
    let prefetcher: BatchPrefetcher
    /// Histograms of every training image; each step's targets interpolate two of them.
    public let targetBank: TargetHistogramBank
    /// Target histograms of the sample grid rows (from fixed dataset images).
    let sampleTargets: Tensor
    let sampleTargetImages: [Float]

    /// Opens `directory` for `options` on `backend`; with `resume`, restores the checkpoint found there
    /// (its options win, except `steps`, which may be raised to continue training, and `accumulate` when the
    /// checkpoint's micro-batches cannot be shared by `communicator.size` ranks: then `options.accumulate` deals
    /// the same global batch anew). `options.accumulate` counts the micro-batches of all ranks together.
    public init(directory: String, options: TrainingOptions, dataset: ImageDataset, backend: any Backend, resume: Bool,
                communicator: any Communicator = SingleProcessCommunicator(), checksumInterval: Int = 100,
                bucketBytes: Int = 64 << 20) throws {
        self.directory = directory
        self.dataset = dataset
        self.checksumInterval = max(1, checksumInterval)
        let checkpointPath = try Checkpoint.runCheckpoint(in: directory, resume: resume)
        let root = communicator.isRoot
        var effective = options
        if resume {
            effective = try Checkpoint.options(at: checkpointPath)
            effective.steps = options.steps
            if effective.accumulate % communicator.size != 0 {
                guard effective.batch % options.accumulate == 0, options.accumulate % communicator.size == 0 else {
                    throw HistoGANError.invalidConfig("--resume on \(communicator.size) ranks: the checkpoint's --batch \(effective.batch) does not split into \(options.accumulate) micro-batches")
                }
                notes.append("the checkpoint's \(effective.accumulate) micro-batches per step do not split over \(communicator.size) ranks: "
                             + "the batch of \(effective.batch) is now dealt as \(options.accumulate) micro-batches of \(effective.batch / options.accumulate)")
                effective.accumulate = options.accumulate
            }
        }
        guard dataset.resolution == effective.network.resolution else {
            throw HistoGANError.invalidConfig("dataset resolution \(dataset.resolution) differs from the run's \(effective.network.resolution)")
        }
        trainer = try Trainer(options: effective, backend: backend, communicator: communicator, bucketBytes: bucketBytes)
        if resume {
            try Checkpoint.restore(trainer, from: checkpointPath)
            if root { try LogFile(path: directory + "/log.jsonl").dropRecords(after: trainer.step) }
        }
        if communicator.size > 1 {
            // Every rank must run the same options and start from the same state.
            var f = Fingerprint()
            f.add(Array(try JSONEncoder.sorted.encode(effective)).map { Float($0) })
            let all = try communicator.allGather(f.value)
            guard Set(all).count == 1 else {
                let differing = all.indices.filter { all[$0] != all[0] }.map(String.init).joined(separator: ", ")
                throw HistoGANError.distributed("the training options of rank(s) \(differing) differ from rank 0's: start every rank with the same flags")
            }
            try trainer.verifyReplicas()
        }
        targetBank = try TargetHistogramBank(dataset: dataset, source: effective.targetSource, options: effective.histogram,
                                             backend: backend)
        prefetcher = BatchPrefetcher(dataset: dataset, options: effective, microBatches: trainer.localMicroBatches)
        if root { try FileManager.default.createDirectory(atPath: directory + "/samples", withIntermediateDirectories: true) }
        let r = effective.network.resolution
        let rows = min(4, dataset.count)
        let targetImages = dataset.batch((0..<rows).map { $0 * dataset.count / rows }, flips: [Bool](repeating: false, count: rows))
        sampleTargetImages = targetImages
        sampleTargets = try Autograd.withoutGrad {
            let images = try Tensor(targetImages, shape: [rows, 3, r, r], on: backend)
            return try Tensor.rgbuvHistogram((images + 1) * 0.5, options: effective.histogram)
        }
        if root { try AtomicFile.write(try JSONEncoder.pretty.encode(effective), to: directory + "/options.json") }
    }

    /// Trains until `options.steps`, calling `report` after every step (on rank 0 only). Checkpoints every
    /// `checkpointInterval` steps and at the end; a NaN loss stops with the last checkpoint intact.
    public func run(report: (StepStats) -> Void) throws {
        let o = trainer.options
        let r = o.network.resolution
        let communicator = trainer.communicator
        let log = communicator.isRoot ? try LogFile(path: directory + "/log.jsonl") : nil
        while trainer.step < o.steps {
            let host = prefetcher.batches(step: trainer.step)
            let batches = try host.map { try Tensor($0, shape: [o.microBatch, 3, r, r], on: trainer.backend) }
            let targets = try trainer.localMicroBatches.map { k in
                try targetBank.targets(targetBank.draws(step: trainer.step, k: k, size: o.microBatch, seed: o.seed), on: trainer.backend)
            }
            let stats = try trainer.trainStep(realBatches: batches, targets: targets)
            if communicator.size > 1, stats.step % checksumInterval == 0 || stats.step == o.steps { try trainer.verifyReplicas() }
            guard let log else { continue }
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
