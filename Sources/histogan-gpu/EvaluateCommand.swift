import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure colour control: how close generated images' histograms come to their target's (HistoGAN's metrics).",
        discussion: """
            For each target, --per-target images are generated with seeds --seed-start.. (the same seeds for every \
            target) and their RGB-uv histograms measured (--bins, inverse-quadratic kernel, --sigma, images over 150 \
            pixels reduced by sampling). Matched: Hellinger distance and KL(target||generated) to the image's own \
            target; mismatched: to every other target; a ratio matched/mismatched near 1 means no colour control. \
            Diversity is the mean pairwise RMS pixel difference of one target's images; target spread the mean \
            Hellinger distance between targets. Targets are images, .npy histograms or directories (their .png, \
            .jpg and .jpeg files); at least 2. The generator is always conditioned on histograms with the network's \
            bins; --bins only changes how images are measured (.npy targets then cannot be measured).

            Example:
              histogan-gpu evaluate --checkpoint runs/demo/checkpoint.safetensors \\
                --targets sunset.jpg forest.png targets/ --per-target 16 --json eval.json
            """)

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "Checkpoint file (RUN/checkpoint.safetensors).")
    var checkpoint: String

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Target images, .npy histograms or directories of images (at least 2 targets).",
                                                        valueName: "path"))
    var targets: [String] = []

    @Option(name: .customLong("per-target"), help: "Images generated per target (2 or more for diversity).")
    var perTarget = 8

    @Option(name: .customLong("seed-start"), help: "First latent seed; every target uses the same seeds.")
    var seedStart = 0

    @Option(help: "Truncation ψ toward the average w (1 = none).")
    var truncation: Float = 1

    @Option(help: ArgumentHelp("Per-pixel noise: const (one fixed map per layer), random (keyed by each image's seed) or none.",
                               valueName: "mode"))
    var noise: NoiseMode = .const

    @Option(help: "Bins per axis of the measured histograms (default: the network's).")
    var bins: Int?

    @Option(help: "Kernel width σ of the measured histograms.")
    var sigma: Float = 0.02

    @Option(help: "Images generated per batch.")
    var batch = 8

    @Option(help: ArgumentHelp("Also write the report as JSON to this file.", valueName: "file"))
    var json: String?

    /// The other settings are checked by `ColorControlOptions.validate`, whose errors name the flags.
    func validate() throws {
        guard !targets.isEmpty else { throw ValidationError("give --targets: at least 2 images, .npy histograms or directories") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let sampler = try Sampler(checkpoint: checkpoint, backend: backend)
        let network = sampler.histogramOptions
        let goals = try ColorTarget.expandingDirectories(targets).flatMap { try ColorTarget.load($0, options: network, backend: backend) }
        var measure = ColorControlOptions.paperHistogram(bins: bins ?? network.bins)
        measure.sigma = sigma
        let options = ColorControlOptions(imagesPerTarget: perTarget, seedStart: seedStart, truncation: truncation, noise: noise,
                                          histogram: measure)
        let progress = Progress()
        var report = try ColorControlEvaluation.evaluate(sampler: sampler, targets: goals, options: options, batchSize: batch,
                                                         progress: progress.update)
        report.checkpoint = checkpoint
        print(report.table())
        if let json {
            do { try report.json().write(to: URL(fileURLWithPath: json), options: .atomic) } catch {
                throw ValidationError("--json \(json): cannot write: \(error.localizedDescription)")
            }
            print("wrote \(json)")
        }
    }
}

/// `evaluating: done/total images` on stderr: redrawn in place on a terminal, else a line per tenth of the run.
private final class Progress {
    let start = Date()
    let isTerminal = isatty(STDERR_FILENO) != 0
    var tenths = 0

    func update(_ done: Int, _ total: Int) {
        let tenth = done * 10 / max(1, total)
        guard isTerminal || tenth > tenths else { return }
        tenths = tenth
        let rate = Double(done) / max(1e-9, Date().timeIntervalSince(start))
        let text = "evaluating: \(done)/\(total) images, \(String(format: "%.1f", rate)) img/s"
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + text + (isTerminal && done < total ? "" : "\n")).utf8))
    }
}
