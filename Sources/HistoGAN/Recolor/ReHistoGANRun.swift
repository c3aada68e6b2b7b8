import Engine
import Foundation

/// A ReHistoGAN training run in a directory, with `train`'s conventions: `checkpoint.safetensors` (atomic),
/// `options.json`, `log.jsonl`, `samples/step-NNNNNN.png` (rows: fixed training images; first row: the target
/// images; cells: each row's image recoloured toward each column's target), and exact `resume`.
public final class ReHistoGANRun {
    public let directory: String
    public let trainer: ReHistoGANTrainer
    public let dataset: ImageDataset
    public let targetBank: TargetHistogramBank
    let sampleInputs: Tensor
    let sampleTargets: Tensor
    let sampleTargetImages: Tensor

    /// Opens `directory` for `options`; with `resume` restores its checkpoint (its options win, except `steps`);
    /// otherwise `fromHistoGAN` may seed the head and histogram encoder from a HistoGAN checkpoint.
    public init(directory: String, options: ReHistoGANOptions, dataset: ImageDataset, backend: any Backend, resume: Bool,
                fromHistoGAN: String? = nil) throws {
        self.directory = directory
        self.dataset = dataset
        let checkpointPath = try Checkpoint.runCheckpoint(in: directory, resume: resume)
        var effective = options
        if resume {
            effective = try ReHistoGANCheckpoint.options(at: checkpointPath)
            effective.steps = options.steps
        }
        guard dataset.resolution == effective.network.resolution else {
            throw HistoGANError.invalidConfig("dataset resolution \(dataset.resolution) differs from the run's \(effective.network.resolution)")
        }
        guard dataset.count >= 2 else { throw HistoGANError.invalidConfig("\(dataset.directory): ReHistoGAN needs at least 2 images") }
        trainer = try ReHistoGANTrainer(options: effective, backend: backend)
        if resume {
            try ReHistoGANCheckpoint.restore(trainer, from: checkpointPath)
            try LogFile(path: directory + "/log.jsonl").dropRecords(after: trainer.step)
        } else if let fromHistoGAN {
            try trainer.loadHead(fromHistoGAN: fromHistoGAN)
        }
        targetBank = try TargetHistogramBank(dataset: dataset, source: .image, options: effective.histogram, backend: backend)
        try FileManager.default.createDirectory(atPath: directory + "/samples", withIntermediateDirectories: true)
        let r = effective.network.resolution
        let rows = min(4, dataset.count), columns = min(5, dataset.count)
        let noFlip = { [Bool](repeating: false, count: $0) }
        sampleInputs = try Tensor(dataset.batch((0..<rows).map { $0 * dataset.count / rows }, flips: noFlip(rows)),
                                  shape: [rows, 3, r, r], on: backend)
        let targetIndices = (0..<columns).map { ($0 * dataset.count / columns + dataset.count / (2 * columns)) % dataset.count }
        sampleTargetImages = try Tensor(dataset.batch(targetIndices, flips: noFlip(columns)), shape: [columns, 3, r, r], on: backend)
        let targetImages = sampleTargetImages, histogramOptions = effective.histogram
        sampleTargets = try Autograd.withoutGrad { try HistogramLoss.histograms(ofGenerated: targetImages, options: histogramOptions) }
        try AtomicFile.write(try JSONEncoder.pretty.encode(effective), to: directory + "/options.json")
    }

    /// Trains until `options.steps`, calling `report` after every step; checkpoints, logs and samples on their
    /// intervals and at the end. A NaN loss stops with the last checkpoint intact.
    public func run(report: (ReHistoGANStepStats) -> Void) throws {
        let o = trainer.options
        let r = o.network.resolution
        let log = try LogFile(path: directory + "/log.jsonl")
        while trainer.step < o.steps {
            let step = trainer.step
            let images = try Tensor(dataset.batch(step: step, k: 0, size: o.batch, seed: o.seed, flip: o.flip),
                                    shape: [o.batch, 3, r, r], on: trainer.backend)
            let targets = try targetBank.targets(targetBank.draws(step: step, k: 0, size: o.batch, seed: o.seed), on: trainer.backend)
            let stats = try trainer.trainStep(real: images, targets: targets)
            report(stats)
            if stats.step % o.logInterval == 0 || stats.step == o.steps { try log.append(stats) }
            if stats.step % o.sampleInterval == 0 || stats.step == o.steps { try writeSamples() }
            if stats.step % o.checkpointInterval == 0 || stats.step == o.steps { try ReHistoGANCheckpoint.save(trainer, to: directory) }
        }
    }

    /// Writes `samples/step-NNNNNN.png`.
    public func writeSamples() throws {
        let path = String(format: "%@/samples/step-%06d.png", directory, trainer.step)
        try ReHistoGANSampleGrid.write(generator: trainer.generatorEMA ?? trainer.generator, inputs: sampleInputs, targets: sampleTargets,
                                       targetImages: sampleTargetImages, to: path)
    }
}

/// The recolouring grid: top row the target images (after a blank corner), then one row per input: the input,
/// then the input recoloured toward each target.
public enum ReHistoGANSampleGrid {
    public static func write(generator: ReHistoGANGenerator, inputs: Tensor, targets: Tensor, targetImages: Tensor?,
                             to path: String) throws {
        let (rows, columns) = (inputs.shape[0], targets.shape[0])
        let r = generator.config.resolution
        var cells: [Image] = []
        let toImage = { (t: Tensor, i: Int) throws -> Image in
            let image = try Image(t, index: i)
            return try Image(width: r, height: r, pixels: image.pixels.map { min(1, max(0, ($0 + 1) / 2)) })
        }
        try Autograd.withoutGrad {
            if let targetImages {
                cells.append(try Image(width: r, height: r, fill: (1, 1, 1)))
                for j in 0..<columns { cells.append(try toImage(targetImages, j)) }
            }
            for i in 0..<rows {
                let input = try inputs.sliced(axis: 0, i..<(i + 1)).expanded(to: [columns, 3, r, r])
                let out = try generator(input, histograms: targets)
                cells.append(try toImage(inputs, i))
                for j in 0..<columns { cells.append(try toImage(out, j)) }
            }
        }
        try ImageIO.writePNG(Image.grid(cells, columns: columns + 1), to: path)
    }
}

/// ReHistoGAN training state in `checkpoint.safetensors`: G, D, both Adams' moments; metadata holds the
/// options JSON (`format` `rehistogan-gpu/1`) and the counters. Written atomically.
public enum ReHistoGANCheckpoint {
    public static let format = "rehistogan-gpu/1"

    public static func save(_ trainer: ReHistoGANTrainer, to directory: String) throws {
        var tensors = try trainer.generator.parameters.snapshot(prefix: "G.")
        if let ema = trainer.generatorEMA { tensors.merge(try ema.parameters.snapshot(prefix: "G_ema."), uniquingKeysWith: { a, _ in a }) }
        tensors.merge(try trainer.discriminator.parameters.snapshot(prefix: "D."), uniquingKeysWith: { a, _ in a })
        try GANState.write(tensors, adamG: trainer.adamG, adamD: trainer.adamD, format: format,
                           options: String(decoding: try JSONEncoder().encode(trainer.options), as: UTF8.self),
                           step: trainer.step, to: directory)
    }

    /// The options of a ReHistoGAN checkpoint; a clear error for a HistoGAN one or any other file.
    public static func options(at path: String) throws -> ReHistoGANOptions {
        let metadata = try SafeTensors.read(path).metadata
        guard metadata["format"] == format else {
            let hint = metadata["format"] == Checkpoint.format ? " (it is a HistoGAN checkpoint: use --method projection)" : ""
            throw HistoGANError.checkpoint("\(path): not a ReHistoGAN checkpoint\(hint)")
        }
        guard let json = metadata["options"], let options = try? JSONDecoder().decode(ReHistoGANOptions.self, from: Data(json.utf8)) else {
            throw HistoGANError.checkpoint("\(path): unreadable ReHistoGAN options in the file's metadata")
        }
        return options
    }

    /// The generator for recolouring: the EMA one when the run kept it, else the trained one.
    public static func loadGenerator(from path: String, backend: any Backend) throws -> ReHistoGANGenerator {
        let options = try options(at: path)
        let generator = try ReHistoGANGenerator(config: options.network, skipToHead: options.skipToHead, backend: backend, seed: 0)
        let tensors = try SafeTensors.read(path).tensors
        try generator.parameters.load(tensors, prefix: options.emaKimg == nil ? "G." : "G_ema.", source: path)
        return generator
    }

    public static func restore(_ trainer: ReHistoGANTrainer, from path: String) throws {
        let (tensors, metadata) = try SafeTensors.read(path)
        let step = try GANState.restore(tensors, metadata: metadata, format: format, path: path, adamG: trainer.adamG,
                                        g: trainer.generator.parameters, adamD: trainer.adamD, d: trainer.discriminator.parameters)
        try trainer.generator.parameters.load(tensors, prefix: "G.", source: path)
        if let ema = trainer.generatorEMA { try ema.parameters.load(tensors, prefix: "G_ema.", source: path) }
        try trainer.discriminator.parameters.load(tensors, prefix: "D.", source: path)
        trainer.step = step
    }
}
