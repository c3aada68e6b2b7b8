import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct GANGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images from a classic-GAN checkpoint: one PNG per image, optionally a grid.")

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "RUN/checkpoint.safetensors written by `gan train`.")
    var checkpoint: String

    @Option(help: "Number of images.")
    var count = 16

    @Option(help: "Conditional models: requested class index (default: classes in turn, 0, 1, 2, …).")
    var `class`: Int?

    @Option(help: "Conditional models trained on tags: requested tags, separated by ';' (e.g. 'blonde hair;blue eyes').")
    var tags: String?

    @Option(help: "First latent seed; image i uses seed first-seed + i.")
    var firstSeed = 0

    @Option(help: "Folder for the PNGs (created).")
    var outdir: String

    @Option(help: "Also write all images as one grid PNG here.")
    var grid: String?

    @Option(help: "Columns of --grid.")
    var columns = 10

    func validate() throws {
        guard count > 0, columns > 0 else { throw ValidationError("--count and --columns must be > 0") }
        guard `class` == nil || tags == nil else { throw ValidationError("give --class or --tags, not both") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let (generator, _) = try ClassicCheckpoint.generator(at: checkpoint, on: backend)
        let config = generator.config
        var conditions: [Float]?
        var requested: [String] = []
        if config.model.isConditional {
            let k = config.labelCount
            if let tags {
                let wanted = tags.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                do { conditions = try ClassicSampling.tagConditions(wanted, config: config, count: count) } catch {
                    throw ValidationError("--tags: \(error)")
                }
                requested = [tags]
            } else {
                if let c = `class`, !(0..<k).contains(c) {
                    throw ValidationError("--class \(c): the checkpoint has classes 0..<\(k) (\(config.labelNames.joined(separator: ", ")))")
                }
                let classes = (0..<count).map { `class` ?? $0 % k }
                conditions = try ClassicSampling.classConditions(classes, labelCount: k)
                requested = classes.map { config.labelNames.indices.contains($0) ? config.labelNames[$0] : String($0) }
            }
        } else if `class` != nil || tags != nil {
            throw ValidationError("--class/--tags: the \(config.model.rawValue) checkpoint is unconditional")
        }
        let seeds = (0..<count).map { firstSeed + $0 }
        let values = try ClassicSampling.generate(generator, seeds: seeds, conditions: conditions, on: backend)
        let images = try ClassicSampling.images(values, channels: config.channels, resolution: config.resolution)
        try FileManager.default.createDirectory(atPath: outdir, withIntermediateDirectories: true)
        for (i, image) in images.enumerated() {
            try ImageIO.writePNG(image, to: String(format: "%@/seed%06d.png", outdir, seeds[i]))
        }
        print("wrote \(images.count) images to \(outdir)" + (requested.isEmpty ? "" : " (requested: \(Set(requested).sorted().joined(separator: ", ")))"))
        if let grid {
            try ImageIO.writePNG(Image.grid(images, columns: min(columns, images.count)), to: grid)
            print("grid: \(grid)")
        }
    }
}
