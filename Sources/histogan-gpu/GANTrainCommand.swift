import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct GANTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classic GAN.",
        discussion: """
        Writes RUN/checkpoint.safetensors (atomically), RUN/log.jsonl, RUN/samples/step-NNNNNN.png (rows: classes for
        cgan/acgan) and RUN/options.json. --resume continues a run exactly (pass a larger --steps to train longer).
        """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var dataOptions: GANDataOptions

    @Option(help: "fc (MLP, Goodfellow et al.), dcgan (Radford et al.), cgan (conditional DCGAN), acgan (auxiliary classifier).")
    var model: ClassicGANModel = .dcgan

    @Option(help: "Run directory for checkpoints, logs and samples.")
    var output: String

    @Option(help: "Total optimizer steps (one D and one G update each).")
    var steps = 2000

    @Option(name: .customLong("time-limit"), help: "Stop (with samples and a checkpoint) after the first step that ends past this many minutes; --resume continues.")
    var timeLimit: Double?

    @Option(help: "Images per step.")
    var batch = 64

    @Option(help: "Random seed (weights, data order, z, fake labels).")
    var seed: UInt64 = 0

    @Flag(help: "Continue the run in --output from its checkpoint.")
    var resume = false

    @Option(help: "Length of the latent z.")
    var latent = 100

    @Option(help: "Network width w: DCGAN feature maps w and 2w; fc hidden layers 4w..16w.")
    var width = 64

    @Option(help: "Adam learning rate of G and D.")
    var lr: Float = 2e-4

    @Option(help: "Adam β1 of G and D.")
    var beta1: Float = 0.5

    @Option(help: "Adam β2 of G and D.")
    var beta2: Float = 0.999

    @Option(name: .customLong("aux-weight"), help: "ACGAN: weight of the auxiliary classification loss.")
    var auxWeight: Float = 1

    @Option(name: .customLong("log-every"), help: "Steps between log.jsonl records.")
    var logEvery = 20

    @Option(name: .customLong("sample-every"), help: "Steps between sample grids.")
    var sampleEvery = 250

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery = 250

    func validate() throws {
        guard steps > 0, batch > 1, latent > 0, width > 0 else {
            throw ValidationError("--steps, --latent and --width must be > 0 and --batch > 1 (batch norm)")
        }
        guard timeLimit.map({ $0 > 0 }) ?? true else { throw ValidationError("--time-limit must be > 0 minutes") }
        guard logEvery > 0, sampleEvery > 0, checkpointEvery > 0 else {
            throw ValidationError("--log-every, --sample-every and --checkpoint-every must be > 0")
        }
        guard dataOptions.labels == nil || !dataOptions.isFashionMNIST else {
            throw ValidationError("--labels applies to a folder given with --data, not to fashion-mnist")
        }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        print("device: \(backend.info.selector) — \(backend.info.name)")
        let dataset = try dataOptions.trainingSet()
        print("\(dataset.source): \(dataset.count) images, \(dataset.channels)x\(dataset.resolution)x\(dataset.resolution), \(dataset.labelCount) \(dataset.labelKind.rawValue)")
        let config = ClassicGANConfig(model: model, resolution: dataset.resolution, channels: dataset.channels, latentDim: latent,
                                      width: width, labelCount: dataset.labelCount, labelKind: dataset.labelKind,
                                      labelNames: dataset.labelNames)
        let options = ClassicGANOptions(network: config, batch: batch, steps: steps, learningRate: lr, beta1: beta1, beta2: beta2,
                                        auxiliaryWeight: auxWeight, seed: seed, logInterval: logEvery, sampleInterval: sampleEvery,
                                        checkpointInterval: checkpointEvery)
        let run = try ClassicTrainingRun(directory: output, options: options, dataset: dataset, backend: backend, resume: resume)
        let t = run.trainer
        print("\(t.options.network.model.rawValue): G \(t.generator.parameters.count) parameters, D \(t.discriminator.parameters.count)")
        if resume { print("resuming at step \(t.step)") }
        let bar = ProgressBar(total: t.options.steps, plainInterval: t.options.logInterval, initial: t.step)
        let started = Date()
        let done = try run.run(deadline: timeLimit.map { started.addingTimeInterval($0 * 60) }) { s in
            bar.update(s.step, rate: s.imagesPerSecond, extra: String(format: "D %.3f G %.3f D(x) %.2f D(G(z)) %.2f", s.discriminatorLoss,
                                                                     s.generatorLoss, s.realScore, s.fakeScore))
        }
        let wall = Date().timeIntervalSince(started)
        print(String(format: "trained to step %d in %.1f s%@", done, wall, done < t.options.steps ? " (--time-limit reached)" : ""))
        print("done: \(output)/\(Checkpoint.fileName), samples in \(output)/samples")
    }
}
