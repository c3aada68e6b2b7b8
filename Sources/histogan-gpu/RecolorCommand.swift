import ArgumentParser
import Engine
import Foundation
import HistoGAN

/// The network and post-steps flags shared by `recolor` and `evaluate-recolor`.
struct RecolorFlags: ParsableArguments {
    @Option(help: "A ReHistoGAN checkpoint (from recolor-train) for --method rehistogan, a HistoGAN one (from train) for --method projection.")
    var checkpoint: String

    @Option(help: "rehistogan (one forward pass of a trained ReHistoGAN) or projection (fit a HistoGAN's per-layer w to the image, then regenerate with the target's histogram).")
    var method: RecolorMethod = .rehistogan

    @Option(help: "Projection: Adam steps per input image.")
    var steps = 300

    @Option(help: "Projection: Adam learning rate.")
    var lr: Float = 0.05

    @Option(name: .customLong("projection-reg"), help: "Projection: weight of the pull of each layer's w toward the average w.")
    var projectionReg: Float = 0.01

    @Option(help: "Back to the input's size: pyramid (Laplacian-pyramid swapping: the network's colours, the input's details) or none (keep the network's resolution).")
    var upsample: RecolorUpsample = .pyramid

    @Option(name: .customLong("pyramid-levels"), help: "Pyramid levels (1-16; default 5, as the official code).")
    var pyramidLevels: Int?

    @Option(name: .customLong("post-transfer"), help: "mkl: map the full-size input's colours toward the network's output by the MKL transfer (replaces the up-sampled output); none.")
    var postTransfer: RecolorPostTransfer = .none

    func validate() throws {
        guard steps > 0, lr > 0, projectionReg >= 0 else { throw ValidationError("--steps and --lr must be > 0, --projection-reg >= 0") }
        guard pyramidLevels.map({ $0 > 0 }) ?? true else { throw ValidationError("--pyramid-levels must be > 0") }
    }

    /// The recolourer of the checkpoint; projection reports its progress on stderr.
    func makeRecolorer(backend: any Backend) throws -> Recolorer {
        let network: any NetworkRecolorer
        switch method {
        case .rehistogan:
            network = try ReHistoGANRecolorer(checkpoint: checkpoint, backend: backend)
        case .projection:
            let projection = try ProjectionRecolorer(checkpoint: checkpoint, backend: backend,
                                                     options: ProjectionOptions(steps: steps, learningRate: lr, regularization: projectionReg))
            let bar = ProgressBar(total: steps, plainInterval: max(1, steps / 4), unit: "steps/s")
            var start = Date()
            projection.progress = { done, _, loss in
                if done == 1 { start = Date() }
                bar.update(done, rate: Double(done) / max(1e-9, Date().timeIntervalSince(start)), extra: String(format: "projecting, L1 %.4f", loss))
            }
            network = projection
        }
        return Recolorer(network: network, upsample: upsample, postTransfer: postTransfer, pyramidLevels: pyramidLevels)
    }
}

struct RecolorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recolor",
        abstract: "Recolour real images toward target images or histograms (ReHistoGAN or projection), at the input's full size.",
        discussion: """
        --input and --target take a file or a folder (every .png/.jpg/.jpeg directly inside); --target also takes .npy histograms. One input and one target write the file --output; otherwise --output is a folder receiving INPUT-TARGET.png for every pair.

        Examples:
          histogan-gpu recolor --checkpoint rehisto/checkpoint.safetensors --input photo.jpg --target sunset.jpg --output out.png
          histogan-gpu recolor --checkpoint run/checkpoint.safetensors --method projection --steps 300 \\
                               --input photos/ --target sunset.jpg --output recoloured/
        """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var flags: RecolorFlags

    @Option(help: "An image or a folder of images to recolour.")
    var input: String

    @Option(parsing: .upToNextOption, help: "Target images, .npy histograms or folders.")
    var target: [String]

    @Option(help: "Output file (one input, one target) or folder.")
    var output: String

    func validate() throws {
        guard !target.isEmpty else { throw ValidationError("give at least one --target image, .npy histogram or folder") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let recolorer = try flags.makeRecolorer(backend: backend)
        let inputs = try ColorTarget.expandingDirectories([input], flag: "--input")
        let goals = try ColorTarget.expandingDirectories(target, flag: "--target").flatMap {
            try ColorTarget.load($0, options: recolorer.network.histogramOptions, backend: backend)
        }
        let single = inputs.count == 1 && goals.count == 1
        if !single { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) }
        var done = 0
        for path in inputs {
            let image = try ImageIO.read(path)
            for goal in goals {
                let start = Date()
                let result = try recolorer.recolor(image, name: path, target: goal).output
                let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                let file = single ? output : (output as NSString).appendingPathComponent("\(stem)-\(goal.stem).png")
                try ImageIO.writePNG(result, to: file)
                done += 1
                print(String(format: "[%d/%d] %@ (%dx%d) toward %@ -> %@ (%.1f s)", done, inputs.count * goals.count, path,
                             image.width, image.height, goal.name, file, Date().timeIntervalSince(start)))
            }
        }
    }
}

struct EvaluateRecolorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate-recolor",
        abstract: "Measure recolouring on held-out pairs: Hellinger distance to the target before/after and for the MKL transfer, and luminance SSIM.",
        discussion: """
        Recolours every input toward every target. Histograms are the paper's (RGB-uv, inverse-quadratic kernel, σ 0.02), measured on 8-bit images at full size.

        Example:
          histogan-gpu evaluate-recolor --checkpoint rehisto/checkpoint.safetensors --inputs held-out/ --targets targets/ --json r.json
        """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var flags: RecolorFlags

    @Option(parsing: .upToNextOption, help: "Input images or folders.")
    var inputs: [String]

    @Option(parsing: .upToNextOption, help: "Target images or folders.")
    var targets: [String]

    @Option(help: "Bins per axis of the measured histograms.")
    var bins = 64

    @Option(help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file"))
    var json: String?

    func validate() throws {
        guard !inputs.isEmpty, !targets.isEmpty else { throw ValidationError("give --inputs and --targets (images or folders)") }
        guard bins >= 2, bins <= HistogramOptions.maxBins else { throw ValidationError("--bins must be in 2...\(HistogramOptions.maxBins)") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let recolorer = try flags.makeRecolorer(backend: backend)
        let images = try ColorTarget.expandingDirectories(inputs, flag: "--inputs").map { (name: $0, image: try ImageIO.read($0)) }
        let goals = try ColorTarget.expandingDirectories(targets, flag: "--targets").flatMap {
            try ColorTarget.load($0, options: recolorer.network.histogramOptions, backend: backend)
        }
        let bar = ProgressBar(total: images.count * goals.count, plainInterval: max(1, images.count * goals.count / 10), unit: "pairs/s")
        let start = Date()
        var report = try RecolorEvaluation.evaluate(recolorer: recolorer, method: flags.method.rawValue, inputs: images, targets: goals,
                                                    histogram: ColorControlOptions.paperHistogram(bins: bins),
                                                    progress: { done, _ in bar.update(done, rate: Double(done) / max(1e-9, Date().timeIntervalSince(start)), extra: "") })
        report.checkpoint = flags.checkpoint
        print(report.table())
        if let json {
            do { try report.json().write(to: URL(fileURLWithPath: json), options: .atomic) } catch {
                throw ValidationError("--json \(json): cannot write: \(error.localizedDescription)")
            }
            print("wrote \(json)")
        }
    }
}

extension RecolorMethod: ExpressibleByArgument {}
extension RecolorUpsample: ExpressibleByArgument {}
extension RecolorPostTransfer: ExpressibleByArgument {}
