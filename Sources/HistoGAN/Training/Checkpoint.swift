import Engine
import Foundation

/// Training state saved in a run directory: `checkpoint.safetensors` (G, D, G_ema parameters, both Adam
/// optimizers' moments, w averages) whose metadata holds the JSON of `TrainingOptions` and the counters.
/// Written atomically (temporary file, fsync, rename): a killed run never leaves a broken checkpoint.
public struct Checkpoint {
    public static let fileName = "checkpoint.safetensors"
    public static let format = "histogan-gpu/1"

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
        let latent = trainer.options.network.latentDim
        tensors["G.mapping.w_avg"] = SafeTensors.Entry(shape: [latent], values: try trainer.generator.mapping.wAverage.array())
        tensors["G_ema.mapping.w_avg"] = SafeTensors.Entry(shape: [latent], values: try trainer.generatorEMA.mapping.wAverage.array())
        try GANState.write(tensors, adamG: trainer.adamG, adamD: trainer.adamD, format: format,
                           options: String(decoding: try JSONEncoder().encode(trainer.options), as: UTF8.self), step: trainer.step,
                           extra: ["pl_mean": String(trainer.pathLengthMean.bitPattern)], to: directory)
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
        guard let pl = metadata["pl_mean"].flatMap(UInt32.init) else {
            throw HistoGANError.checkpoint("\(path): missing or unreadable training counters")
        }
        let step = try GANState.restore(tensors, metadata: metadata, format: format, path: path, adamG: trainer.adamG,
                                        g: trainer.generator.parameters, adamD: trainer.adamD, d: trainer.discriminator.parameters)
        try trainer.generator.parameters.load(tensors, prefix: "G.", source: path)
        try trainer.discriminator.parameters.load(tensors, prefix: "D.", source: path)
        try trainer.generatorEMA.parameters.load(tensors, prefix: "G_ema.", source: path)
        let backend = trainer.backend
        for (key, net) in [("G.mapping.w_avg", trainer.generator), ("G_ema.mapping.w_avg", trainer.generatorEMA)] {
            guard let e = tensors[key] else { throw HistoGANError.checkpoint("\(path): missing \(key)") }
            net.mapping.wAverage = try Tensor(e.values, shape: e.shape, on: backend)
        }
        trainer.step = step
        trainer.pathLengthMean = Float(bitPattern: pl)
    }
}

/// What every GAN checkpoint of this project holds besides its networks (HistoGAN, ReHistoGAN, classic GANs):
/// both Adams' moments as entries `adamG.<name>.m/.v` and `adamD.…`, and metadata `format`, `options` (JSON),
/// `step`, `adamG.step`, `adamD.step`.
enum GANState {
    /// Writes `tensors` plus both Adams' moments with the shared metadata (and `extra`) atomically to
    /// `directory/checkpoint.safetensors`.
    static func write(_ tensors: [String: SafeTensors.Entry], adamG: Adam, adamD: Adam, format: String, options: String,
                      step: Int, extra: [String: String] = [:], to directory: String) throws {
        var all = tensors
        for (prefix, adam) in [("adamG.", adamG), ("adamD.", adamD)] {
            for (name, state) in try adam.state() {
                all[prefix + name + ".m"] = SafeTensors.Entry(shape: [state.m.count], values: state.m)
                all[prefix + name + ".v"] = SafeTensors.Entry(shape: [state.v.count], values: state.v)
            }
        }
        let metadata = ["format": format, "options": options, "step": String(step),
                        "adamG.step": String(adamG.step), "adamD.step": String(adamD.step)].merging(extra) { a, _ in a }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try SafeTensors.write(all, metadata: metadata, to: directory + "/" + Checkpoint.fileName)
    }

    /// Checks `format` and restores both Adams (moments of `g` and `d` found in `tensors`); returns the step.
    static func restore(_ tensors: [String: SafeTensors.Entry], metadata: [String: String], format: String, path: String,
                        adamG: Adam, g: ParameterCollection, adamD: Adam, d: ParameterCollection) throws -> Int {
        guard metadata["format"] == format, let step = metadata["step"].flatMap(Int.init),
              let stepG = metadata["adamG.step"].flatMap(Int.init), let stepD = metadata["adamD.step"].flatMap(Int.init) else {
            throw HistoGANError.checkpoint("\(path): missing or unreadable training counters (not a \(format) checkpoint?)")
        }
        for (prefix, adam, count, parameters) in [("adamG.", adamG, stepG, g), ("adamD.", adamD, stepD, d)] {
            var moments: [String: (m: [Float], v: [Float])] = [:]
            for p in parameters.parameters {
                if let m = tensors[prefix + p.name + ".m"], let v = tensors[prefix + p.name + ".v"] { moments[p.name] = (m.values, v.values) }
            }
            try adam.restore(step: count, moments: moments, parameters: parameters)
        }
        return step
    }
}
