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

    /// Runs of consecutive seeds as `a-b`, e.g. `0-3,8` (shown as the default in --help).
    var defaultValueDescription: String {
        var parts: [String] = [], start = 0
        for i in seeds.indices where i + 1 == seeds.count || seeds[i + 1] != seeds[i] + 1 {
            parts.append(i == start ? "\(seeds[i])" : "\(seeds[start])-\(seeds[i])")
            start = i + 1
        }
        return parts.joined(separator: ",")
    }
}

/// `--gif-palette auto|global|per-frame` (auto leaves the choice to `InterpolationAnimation`).
enum GIFPaletteArgument: String, ExpressibleByArgument, CaseIterable {
    case auto
    case global
    case perFrame = "per-frame"

    var palette: GIFOptions.Palette? {
        switch self {
        case .auto: return nil
        case .global: return .global
        case .perFrame: return .perFrame
        }
    }
}

extension NoiseMode: ExpressibleByArgument {}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images whose colours follow target images or histograms: a grid, and/or one PNG per image.",
        discussion: """
            Targets are images (PNG/JPEG) or .npy histograms from `histogram`. --output writes a grid: rows are \
            targets (thumbnail first), columns are seeds. --outdir writes one PNG per (target, seed), named \
            t{TT}-{target}-s{SEED}.png (e.g. t00-sunset-s0007.png), and index.csv with columns file,target,seed.

            Example:
              histogan-gpu generate --checkpoint runs/demo/checkpoint.safetensors \\
                --target sunset.jpg forest.png --seeds 0-15 --noise const \\
                --output grid.png --outdir samples/
            """)

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "Checkpoint file (RUN/checkpoint.safetensors).")
    var checkpoint: String

    @Option(parsing: .upToNextOption, help: "Target images or .npy histograms, one grid row each.")
    var target: [String]

    @Option(help: "Latent seeds, e.g. 0-15 or 1,4,9.")
    var seeds = SeedList(argument: "0-7")!

    @Option(help: "Truncation ψ toward the average w (1 = none).")
    var truncation: Float = 0.7

    @Option(help: ArgumentHelp(
        "Per-pixel noise: none, const (one fixed map per layer for every image) or random (each image's own, keyed by its seed).",
        valueName: "mode"))
    var noise: NoiseMode = .none

    @Option(help: ArgumentHelp("Grid PNG.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Folder for one PNG per (target, seed) and index.csv.", valueName: "dir"))
    var outdir: String?

    func validate() throws {
        guard !target.isEmpty else { throw ValidationError("give at least one --target image or .npy histogram") }
        guard output != nil || outdir != nil else { throw ValidationError("give --output FILE.png (a grid), --outdir DIR (one PNG per image), or both") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let sampler = try Sampler(checkpoint: checkpoint, backend: backend)
        let targets = try target.flatMap { try ColorTarget.load($0, options: sampler.histogramOptions, backend: backend) }
        let files = try sampler.writeSamples(targets: targets, seeds: seeds.seeds, truncation: truncation, noise: noise,
                                             grid: output, directory: outdir)
        if let output { print("wrote \(output): \(targets.count) targets x \(seeds.seeds.count) seeds") }
        if let outdir { print("wrote \(files.count) images and index.csv to \(outdir)") }
    }
}

struct InterpolateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Write frames moving between two seeds and/or two target histograms, a strip of all frames and an animated GIF.",
        discussion: """
            OUTPUT gets frame-NNN.png, strip.png and animation.gif (a looping GIF89a with median-cut palettes \
            and ordered dithering); --gif FILE writes the GIF elsewhere, --no-gif skips it.
            """)

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

    @Option(help: "Output folder for frame-NNN.png, strip.png and animation.gif.")
    var output: String

    @Option(help: ArgumentHelp("Animated GIF path (default: OUTPUT/animation.gif).", valueName: "file"))
    var gif: String?

    @Flag(name: .customLong("no-gif"), help: "Write no animated GIF.")
    var noGIF = false

    @Option(help: "GIF frames per second, 1-50 (delays are whole hundredths of a second).")
    var fps: Double = 12

    @Flag(help: "GIF plays forward then backward, so the loop has no jump.")
    var bounce = false

    @Option(name: .customLong("gif-palette"), help: ArgumentHelp(
        "global: one 256-colour table for all frames (steady colours); per-frame: one per frame (closer colours when they change a lot); auto: global when the two targets are the same, else per-frame.",
        valueName: "auto|global|per-frame"))
    var gifPalette: GIFPaletteArgument = .auto

    func validate() throws {
        guard frames >= 2 else { throw ValidationError("--frames must be >= 2") }
        guard !(noGIF && gif != nil) else { throw ValidationError("--gif and --no-gif exclude each other") }
    }

    func run() throws {
        let animation = try noGIF ? nil : InterpolationAnimation(path: gif ?? output + "/animation.gif", fps: fps, bounce: bounce,
                                                                     palette: gifPalette.palette)
        let backend = try deviceOption.makeBackend()
        let sampler = try Sampler(checkpoint: checkpoint, backend: backend)
        let a = try ColorTarget.load(fromTarget, options: sampler.histogramOptions, backend: backend)[0]
        let b = try toTarget.map { try ColorTarget.load($0, options: sampler.histogramOptions, backend: backend)[0] } ?? a
        let written = try sampler.interpolate(seeds: (fromSeed, toSeed ?? fromSeed), histograms: (a.histogram, b.histogram),
                                              frames: frames, truncation: truncation, to: output, animation: animation)
        print("wrote \(written.frames.count) frames and strip.png to \(output)")
        if let animation { print("wrote \(animation.path): \(animation.bounce ? 2 * frames - 2 : frames) frames at \(animation.frameDelay)/100 s") }
    }
}

struct MixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mix",
        abstract: "Write a style-mixing grid: coarse styles from row seeds, the rest from column seeds, colours from a target.",
        discussion: """
            The top row shows the column seeds' images, the left column the row seeds' images (the target's \
            thumbnail sits in the corner). Cell (row, column) takes the row seed's w for style layers below \
            --cutoff and the column seed's w from --cutoff up to the histogram layers; the last two synthesis \
            blocks always take the target's w_hist. --cutoff 0 reproduces the column images, the first \
            histogram layer reproduces the row images; the default is half of that. No noise, so the grid is \
            deterministic.
            """)

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "Checkpoint file (RUN/checkpoint.safetensors).")
    var checkpoint: String

    @Option(help: "Target image or .npy histogram (the first histogram of a batch) for the colours.")
    var target: String

    @Option(help: "Row seeds (coarse styles), e.g. 0-3.")
    var rows = SeedList(argument: "0-3")!

    @Option(help: "Column seeds (the other w layers), e.g. 4-7.")
    var columns = SeedList(argument: "4-7")!

    @Option(help: "First style layer taken from the column seed, 0 up to the first histogram layer (default: half of that).")
    var cutoff: Int?

    @Option(help: "Truncation ψ toward the average w (1 = none).")
    var truncation: Float = 0.7

    @Option(help: "Output PNG.")
    var output: String

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let sampler = try Sampler(checkpoint: checkpoint, backend: backend)
        let goal = try ColorTarget.load(target, options: sampler.histogramOptions, backend: backend)[0]
        let cut = cutoff ?? sampler.defaultMixingCutoff
        try sampler.writeStyleMixingGrid(target: goal, rowSeeds: rows.seeds, columnSeeds: columns.seeds, cutoff: cut,
                                         truncation: truncation, to: output)
        print("wrote \(output): \(rows.seeds.count) row seeds x \(columns.seeds.count) column seeds, cutoff \(cut): "
              + sampler.mixingDescription(cutoff: cut))
    }
}
