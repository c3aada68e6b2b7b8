import ArgumentParser
import Engine
import Foundation
import HistoGAN

/// `0-15`, `3,5,9` or `0-3,8` → seeds.
struct SeedList: ExpressibleByArgument {
    var seeds: [Int]
    init?(argument: String) {
        var out: [Int] = []
        for part in argument.split(separator: ",") {
            let ends = part.split(separator: "-", maxSplits: 1).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let lo = ends.first ?? nil else { return nil }
            let hi = ends.count == 2 ? ends[1] : lo
            guard let hi, hi >= lo, lo >= 0 else { return nil }
            out += Array(lo...hi)
        }
        guard !out.isEmpty else { return nil }
        seeds = out
    }
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a grid of images whose colours follow target images or histograms.",
        discussion: "Rows are targets (thumbnail first), columns are seeds. Targets are images (PNG/JPEG) or .npy histograms from `histogram`.")

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "Checkpoint file (RUN/checkpoint.safetensors).")
    var checkpoint: String

    @Option(parsing: .upToNextOption, help: "Target images or .npy histograms, one grid row each.")
    var target: [String]

    @Option(help: "Latent seeds, e.g. 0-15 or 1,4,9.")
    var seeds = SeedList(argument: "0-7")!

    @Option(help: "Truncation ψ toward the average w (1 = none).")
    var truncation: Float = 0.7

    @Option(help: "Output PNG.")
    var output: String

    func validate() throws {
        guard !target.isEmpty else { throw ValidationError("give at least one --target image or .npy histogram") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let sampler = try Sampler(checkpoint: checkpoint, backend: backend)
        let targets = try target.flatMap { try ColorTarget.load($0, options: sampler.histogramOptions, backend: backend) }
        try sampler.writeGrid(targets: targets, seeds: seeds.seeds, truncation: truncation, to: output)
        print("wrote \(output): \(targets.count) targets x \(seeds.seeds.count) seeds")
    }
}

struct InterpolateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Write frames moving between two seeds and/or two target histograms, plus a strip of all frames.")

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "Checkpoint file (RUN/checkpoint.safetensors).")
    var checkpoint: String

    @Option(name: .customLong("from-seed"), help: "Start seed.")
    var fromSeed = 0

    @Option(name: .customLong("to-seed"), help: "End seed (default: the start seed).")
    var toSeed: Int?

    @Option(name: .customLong("from-target"), help: "Start target image or .npy histogram.")
    var fromTarget: String

    @Option(name: .customLong("to-target"), help: "End target (default: the start target).")
    var toTarget: String?

    @Option(help: "Number of frames.")
    var frames = 16

    @Option(help: "Truncation ψ.")
    var truncation: Float = 0.7

    @Option(help: "Output folder for frame-NNN.png and strip.png.")
    var output: String

    func validate() throws {
        guard frames >= 2 else { throw ValidationError("--frames must be >= 2") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let sampler = try Sampler(checkpoint: checkpoint, backend: backend)
        let a = try ColorTarget.load(fromTarget, options: sampler.histogramOptions, backend: backend)[0]
        let b = try toTarget.map { try ColorTarget.load($0, options: sampler.histogramOptions, backend: backend)[0] } ?? a
        let paths = try sampler.interpolate(seeds: (fromSeed, toSeed ?? fromSeed), histograms: (a.histogram, b.histogram),
                                            frames: frames, truncation: truncation, to: output)
        print("wrote \(paths.count) frames and strip.png to \(output)")
    }
}
