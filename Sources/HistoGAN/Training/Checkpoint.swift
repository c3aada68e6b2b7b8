import Engine
import Foundation

/// Training state saved in a run directory: `checkpoint.safetensors` (G, D, G_ema parameters, both Adam
/// optimizers' moments, w averages) whose metadata holds the JSON of `TrainingOptions` and the counters.
/// Written atomically (temporary file, fsync, rename): a killed run never leaves a broken checkpoint.
public struct Checkpoint {
    public static let fileName = "checkpoint.safetensors"

    /// The checkpoint of the run in `directory` (every kind of run: HistoGAN, ReHistoGAN, classic GANs), checked
    /// against `--resume`: it must exist to resume, and must not exist otherwise (a new run never overwrites one).
    public static func runCheckpoint(in directory: String, resume: Bool) throws -> String {
        let path = directory + "/" + fileName
        let exists = FileManager.default.fileExists(atPath: path)
        if resume && !exists { throw HistoGANError.checkpoint("--resume: no \(fileName) in \(directory)") }
        if !resume && exists {
            throw HistoGANError.checkpoint("\(directory) already holds a checkpoint: pass --resume to continue it, or choose another --output")
        }
        return path
    }

    /// Saves `trainer` to `directory/checkpoint.safetensors`.
    public static func save(_ trainer: Trainer, to directory: String) throws {
        var tensors: [String: SafeTensors.Entry] = [:]
        tensors.merge(try trainer.generator.parameters.snapshot(prefix: "G."), uniquingKeysWith: { a, _ in a })
        tensors.merge(try trainer.discriminator.parameters.snapshot(prefix: "D."), uniquingKeysWith: { a, _ in a })
        tensors.merge(try trainer.generatorEMA.parameters.snapshot(prefix: "G_ema."), uniquingKeysWith: { a, _ in a })
        tensors.merge(try AdamState.entries(trainer.adamG, prefix: "adamG."), uniquingKeysWith: { a, _ in a })
        tensors.merge(try AdamState.entries(trainer.adamD, prefix: "adamD."), uniquingKeysWith: { a, _ in a })
        let latent = trainer.options.network.latentDim
        tensors["G.mapping.w_avg"] = SafeTensors.Entry(shape: [latent], values: try trainer.generator.mapping.wAverage.array())
        tensors["G_ema.mapping.w_avg"] = SafeTensors.Entry(shape: [latent], values: try trainer.generatorEMA.mapping.wAverage.array())
        let options = String(decoding: try JSONEncoder().encode(trainer.options), as: UTF8.self)
        let metadata = ["format": "histogan-gpu/1", "options": options, "step": String(trainer.step),
                        "adamG.step": String(trainer.adamG.step), "adamD.step": String(trainer.adamD.step),
                        "pl_mean": String(trainer.pathLengthMean.bitPattern)]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try SafeTensors.write(tensors, metadata: metadata, to: directory + "/" + fileName)
    }

    /// The options stored in a checkpoint file (to rebuild the networks before `restore`).
    public static func options(at path: String) throws -> TrainingOptions {
        let metadata = try SafeTensors.read(path).metadata
        guard let json = metadata["options"], let options = try? JSONDecoder().decode(TrainingOptions.self, from: Data(json.utf8)) else {
            throw HistoGANError.checkpoint("\(path): no training options in the file's metadata (not a histogan-gpu checkpoint?)")
        }
        return options
    }

    /// Restores every tensor and counter of `trainer` from `path` (bit-exact).
    public static func restore(_ trainer: Trainer, from path: String) throws {
        let (tensors, metadata) = try SafeTensors.read(path)
        guard metadata["format"] == "histogan-gpu/1", let step = metadata["step"].flatMap(Int.init),
              let stepG = metadata["adamG.step"].flatMap(Int.init), let stepD = metadata["adamD.step"].flatMap(Int.init),
              let pl = metadata["pl_mean"].flatMap(UInt32.init) else {
            throw HistoGANError.checkpoint("\(path): missing or unreadable training counters")
        }
        try trainer.generator.parameters.load(tensors, prefix: "G.", source: path)
        try trainer.discriminator.parameters.load(tensors, prefix: "D.", source: path)
        try trainer.generatorEMA.parameters.load(tensors, prefix: "G_ema.", source: path)
        try AdamState.restore(trainer.adamG, step: stepG, from: tensors, prefix: "adamG.", parameters: trainer.generator.parameters)
        try AdamState.restore(trainer.adamD, step: stepD, from: tensors, prefix: "adamD.", parameters: trainer.discriminator.parameters)
        let backend = trainer.backend
        for (key, net) in [("G.mapping.w_avg", trainer.generator), ("G_ema.mapping.w_avg", trainer.generatorEMA)] {
            guard let e = tensors[key] else { throw HistoGANError.checkpoint("\(path): missing \(key)") }
            net.mapping.wAverage = try Tensor(e.values, shape: e.shape, on: backend)
        }
        trainer.step = step
        trainer.pathLengthMean = Float(bitPattern: pl)
    }
}

/// Adam moments as checkpoint entries `prefix + name + ".m"` / `".v"` (HistoGAN and ReHistoGAN checkpoints).
enum AdamState {
    static func entries(_ adam: Adam, prefix: String) throws -> [String: SafeTensors.Entry] {
        var tensors: [String: SafeTensors.Entry] = [:]
        for (name, state) in try adam.state() {
            tensors[prefix + name + ".m"] = SafeTensors.Entry(shape: [state.m.count], values: state.m)
            tensors[prefix + name + ".v"] = SafeTensors.Entry(shape: [state.v.count], values: state.v)
        }
        return tensors
    }

    /// Restores `adam` at `step` with the moments of `parameters` found in `tensors`.
    static func restore(_ adam: Adam, step: Int, from tensors: [String: SafeTensors.Entry], prefix: String,
                        parameters: ParameterCollection) throws {
        var moments: [String: (m: [Float], v: [Float])] = [:]
        for p in parameters.parameters {
            if let m = tensors[prefix + p.name + ".m"], let v = tensors[prefix + p.name + ".v"] { moments[p.name] = (m.values, v.values) }
        }
        try adam.restore(step: step, moments: moments, parameters: parameters)
    }
}
