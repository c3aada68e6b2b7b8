import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train HistoGAN on a folder of PNG/JPEG images.",
        discussion: """
        Writes RUN/checkpoint.safetensors (atomically), RUN/log.jsonl, RUN/samples/step-NNNNNN.png and RUN/options.json.
        --resume continues a run exactly where it stopped (pass a larger --steps to train longer).
        """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var network: NetworkFlags

    @Option(help: "Folder of training images (searched recursively for .png, .jpg, .jpeg).")
    var data: String

    @Option(help: "Run directory for checkpoints, logs and samples.")
    var output: String

    @Option(help: "Images per optimizer step.")
    var batch = 4

    @Option(help: "Micro-batches accumulated per step (batch must be a multiple).")
    var accumulate = 1

    @Option(help: "Total optimizer steps.")
    var steps = 10_000

    @Option(help: "Random seed (weights, latents, noise and data order).")
    var seed: UInt64 = 0

    @Flag(help: "Continue the run in --output from its checkpoint.")
    var resume = false

    @Option(help: "Adam learning rate of G and D.")
    var lr: Float = 0.0025

    @Option(help: "Adversarial loss: non-saturating (StyleGAN2, with R1) or hinge (official HistoGAN, with gradient penalty).")
    var loss: AdversarialLoss = .nonSaturating

    @Option(name: .customLong("r1-gamma"), help: "R1 weight (default (R/256)²).")
    var r1Gamma: Float?

    @Option(name: .customLong("pl-weight"), help: "Path-length regularisation weight (0 disables).")
    var plWeight: Float = 2

    @Option(name: .customLong("style-mixing"), help: "Style-mixing probability.")
    var styleMixing: Float = 0.9

    @Option(name: .customLong("hist-alpha"), help: "Weight of the histogram loss.")
    var histAlpha: Float = 2

    @Option(name: .customLong("ema-kimg"), help: "G EMA half-life in thousands of images.")
    var emaKimg: Double = 10

    @Flag(help: "Random horizontal flips of the training images.")
    var flip = false

    @Option(name: .customLong("log-every"), help: "Steps between log.jsonl records.")
    var logEvery = 10

    @Option(name: .customLong("sample-every"), help: "Steps between sample grids.")
    var sampleEvery = 500

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery = 500

    func validate() throws {
        guard batch > 0, accumulate > 0, batch % accumulate == 0 else {
            throw ValidationError("--batch \(batch) must be a positive multiple of --accumulate \(accumulate)")
        }
        guard steps > 0 else { throw ValidationError("--steps must be > 0") }
        guard logEvery > 0, sampleEvery > 0, checkpointEvery > 0 else {
            throw ValidationError("--log-every, --sample-every and --checkpoint-every must be > 0")
        }
    }

    var options: TrainingOptions {
        TrainingOptions(network: network.config, batch: batch, accumulate: accumulate, steps: steps, learningRate: lr,
                        loss: loss, r1Gamma: r1Gamma, pathLengthWeight: plWeight, styleMixing: styleMixing, emaKimg: emaKimg,
                        histogramAlpha: histAlpha, flip: flip, seed: seed, logInterval: logEvery,
                        sampleInterval: sampleEvery, checkpointInterval: checkpointEvery)
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        print("device: \(backend.info.selector) — \(backend.info.name)")
        print("loading \(data) at \(network.resolution)x\(network.resolution)…")
        let dataset = try ImageDataset(directory: data, resolution: network.resolution)
        print("\(dataset.count) images")
        let run = try TrainingRun(directory: output, options: options, dataset: dataset, backend: backend, resume: resume)
        let t = run.trainer
        print("G \(t.generator.parameters.count) parameters (mapping \(t.generator.mapping.parameters.count), histogram encoder \(t.generator.histogramEncoder.parameters.count), synthesis \(t.generator.synthesis.parameters.count)); D \(t.discriminator.parameters.count)")
        if resume { print("resuming at step \(t.step)") }
        let bar = ProgressBar(total: t.options.steps, plainInterval: t.options.logInterval)
        try run.run { s in
            bar.update(s.step, rate: s.imagesPerSecond, extra: String(format: "G %.3f hist %.3f D %.3f", s.generatorLoss, s.histogramLoss, s.discriminatorLoss))
        }
        print("done: \(output)/\(Checkpoint.fileName), samples in \(output)/samples")
    }
}

extension AdversarialLoss: ExpressibleByArgument {}
