import Engine
import Foundation

/// A classic-GAN checkpoint: `checkpoint.safetensors` with G and D parameters and batch-norm statistics (`G.`, `D.`),
/// both Adam optimizers' moments (`adamG.`, `adamD.`), and metadata holding the options JSON and the counters.
/// Written atomically (`SafeTensors.write`).
public enum ClassicCheckpoint {
    public static let format = "histogan-gpu/classic-gan/1"

    /// Saves `trainer` to `directory/checkpoint.safetensors`.
    public static func save(_ trainer: ClassicTrainer, to directory: String) throws {
        var tensors: [String: SafeTensors.Entry] = [:]
        for (prefix, c) in [("G.", trainer.generator.parameters), ("G.", trainer.generator.buffers),
                            ("D.", trainer.discriminator.parameters), ("D.", trainer.discriminator.buffers)] {
            tensors.merge(try c.snapshot(prefix: prefix), uniquingKeysWith: { a, _ in a })
        }
        try GANState.write(tensors, adamG: trainer.adamG, adamD: trainer.adamD, format: format,
                           options: String(decoding: try JSONEncoder.sorted.encode(trainer.options), as: UTF8.self),
                           step: trainer.step, to: directory)
    }

    /// The options stored in a classic-GAN checkpoint.
    public static func options(at path: String) throws -> ClassicGANOptions {
        let metadata = try SafeTensors.read(path).metadata
        guard metadata["format"] == format, let json = metadata["options"],
              let options = try? JSONDecoder().decode(ClassicGANOptions.self, from: Data(json.utf8)) else {
            throw HistoGANError.checkpoint("\(path): not a classic-GAN checkpoint (written by `histogan-gpu gan train`)")
        }
        return options
    }

    /// Restores every tensor and counter of `trainer` from `path` (bit-exact).
    public static func restore(_ trainer: ClassicTrainer, from path: String) throws {
        let (tensors, metadata) = try SafeTensors.read(path)
        let step = try GANState.restore(tensors, metadata: metadata, format: format, path: path, adamG: trainer.adamG,
                                        g: trainer.generator.parameters, adamD: trainer.adamD, d: trainer.discriminator.parameters)
        try loadNetworks(generator: trainer.generator, discriminator: trainer.discriminator, from: tensors, path: path)
        trainer.step = step
    }

    /// Loads G's (and, when given, D's) parameters and batch-norm statistics.
    static func loadNetworks(generator: ClassicGenerator, discriminator: ClassicDiscriminator?, from tensors: [String: SafeTensors.Entry],
                             path: String) throws {
        try generator.parameters.load(tensors, prefix: "G.", source: path)
        try generator.buffers.load(tensors, prefix: "G.", source: path)
        if let discriminator {
            try discriminator.parameters.load(tensors, prefix: "D.", source: path)
            try discriminator.buffers.load(tensors, prefix: "D.", source: path)
        }
    }

    /// The generator of the checkpoint at `path`, on `backend`, and the options it was trained with.
    public static func generator(at path: String, on backend: any Backend) throws -> (ClassicGenerator, ClassicGANOptions) {
        let options = try options(at: path)
        let generator = try ClassicGenerator(config: options.network, seed: 0, on: backend)
        try loadNetworks(generator: generator, discriminator: nil, from: SafeTensors.read(path).tensors, path: path)
        return (generator, options)
    }
}
