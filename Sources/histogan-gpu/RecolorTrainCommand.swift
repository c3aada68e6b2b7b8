import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct RecolorTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recolor-train",
        abstract: "Train ReHistoGAN (an encoder-decoder ending in HistoGAN's head) to recolour images toward target histograms.",
        discussion: """
        Unsupervised on one folder of images: each step recolours a batch toward histograms interpolated from two other training images. Writes RUN/checkpoint.safetensors (atomically), RUN/log.jsonl, RUN/options.json and RUN/samples/step-NNNNNN.png (top row: targets; each row: an input, then recoloured toward each target). --from-histogan seeds the head and histogram encoder from a trained HistoGAN (its network flags win).

        Example: histogan-gpu recolor-train --data photos32 --output rehisto --resolution 32 --capacity 0.125 --latent 128 \\
                 --mapping-layers 4 --bins 32 --steps 2000
        """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var network: NetworkFlags

    @Option(help: "Folder of training images (searched recursively for .png, .jpg, .jpeg).")
    var data: String

    @Option(help: "Run directory for checkpoints, logs and samples.")
    var output: String

    @Option(name: .customLong("from-histogan"), help: "A HistoGAN checkpoint whose EMA head (last two blocks) and histogram encoder start the training.")
    var fromHistogan: String?

    @Option(help: "Images per optimizer step.")
    var batch = 8

    @Option(help: "Total optimizer steps.")
    var steps = 2_000

    @Option(help: "Random seed (weights, noise, data order, targets).")
    var seed: UInt64 = 0

    @Flag(help: "Continue the run in --output from its checkpoint.")
    var resume = false

    @Option(help: "Adam learning rate of G and D.")
    var lr: Float = 0.002

    @Option(help: "Adam β1 of G and D.")
    var beta1: Float = 0

    @Option(help: "Adam β2 of G and D.")
    var beta2: Float = 0.99

    @Option(name: .customLong("adv-weight"), help: "γ: weight of the adversarial (hinge) term of G.")
    var advWeight: Float = 1

    @Option(name: .customLong("hist-alpha"), help: "α: weight of the histogram loss.")
    var histAlpha: Float = 16

    @Option(name: .customLong("hist-loss"), help: "Histogram loss over a batch: sample (α · mean Hellinger distance) or batch (the official: one norm / N).")
    var histLoss: HistogramLossReduction = .sample

    @Option(name: .customLong("rec-weight"), help: "β: weight of the reconstruction loss (L1 of the Laplacians of input and output).")
    var recWeight: Float = 1.5

    @Option(name: .customLong("var-weight"), help: "Weight of the official variance term (0 disables).")
    var varWeight: Float = 0.15

    @Option(name: .customLong("gp-interval"), help: "Steps between gradient penalties (weight 10) on D.")
    var gpInterval = 4

    @Option(name: .customLong("ema-kimg"), help: "G EMA half-life in thousands of images (0: no EMA, as the official code).")
    var emaKimg: Double = 10

    @Option(name: .customLong("ema-rampup"), help: "EMA ramp-up: half-life at most this fraction of the images seen (0 disables).")
    var emaRampup: Double = 0.05

    @Flag(name: .customLong("no-skip-to-head"), help: "Do not feed the encoder's R/2 and R features into the head.")
    var noSkipToHead = false

    @Option(name: .customLong("hist-sigma"), help: "σ of the training histograms' kernel (default: one bin spacing).")
    var histSigma: Float?

    @Flag(inversion: .prefixedNo, help: "Random horizontal flips of the training images.")
    var flip = true

    @Option(name: .customLong("log-every"), help: "Steps between log.jsonl records.")
    var logEvery = 10

    @Option(name: .customLong("sample-every"), help: "Steps between sample grids.")
    var sampleEvery = 250

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery = 250

    func validate() throws {
        guard batch > 0, steps > 0, gpInterval > 0 else { throw ValidationError("--batch, --steps and --gp-interval must be > 0") }
        guard histSigma.map({ $0 > 0 }) ?? true else { throw ValidationError("--hist-sigma must be > 0") }
        guard logEvery > 0, sampleEvery > 0, checkpointEvery > 0 else {
            throw ValidationError("--log-every, --sample-every and --checkpoint-every must be > 0")
        }
        guard emaKimg >= 0, emaRampup >= 0 else { throw ValidationError("--ema-kimg and --ema-rampup must be >= 0") }
        guard network.resolution >= 16 else { throw ValidationError("--resolution must be at least 16 for ReHistoGAN") }
    }

    func options(network config: NetworkConfig) -> ReHistoGANOptions {
        ReHistoGANOptions(
            network: config, skipToHead: !noSkipToHead, batch: batch, steps: steps, learningRate: lr, beta1: beta1, beta2: beta2,
            adversarialWeight: advWeight, histogramAlpha: histAlpha, histogramLossReduction: histLoss,
            reconstructionWeight: recWeight, varianceWeight: varWeight, gradientPenaltyInterval: gpInterval,
            emaKimg: emaKimg > 0 ? emaKimg : nil, emaRampup: emaRampup > 0 ? emaRampup : nil,
            histogram: HistogramOptions(bins: config.histogramBins,
                                        sigma: histSigma ?? TrainingOptions.trainingSigma(bins: config.histogramBins), resize: .sampling),
            flip: flip, seed: seed, logInterval: logEvery, sampleInterval: sampleEvery, checkpointInterval: checkpointEvery)
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        print("device: \(backend.info.selector) — \(backend.info.name)")
        var config = network.config
        if let fromHistogan, !resume {
            config = try Checkpoint.options(at: fromHistogan).network
            print("network from \(fromHistogan): \(config.resolution) px, capacity \(config.capacity), latent \(config.latentDim), \(config.histogramBins) bins")
        }
        print("loading \(data) at \(config.resolution)x\(config.resolution)…")
        let dataset = try ImageDataset(directory: data, resolution: config.resolution)
        print("\(dataset.count) images")
        let run = try ReHistoGANRun(directory: output, options: options(network: config), dataset: dataset, backend: backend,
                                    resume: resume, fromHistoGAN: fromHistogan)
        let t = run.trainer
        print("G \(t.generator.parameters.count) parameters (head \(t.generator.headParameters.count), histogram encoder \(t.generator.histogramEncoder.parameters.count)); D \(t.discriminator.parameters.count)")
        if resume { print("resuming at step \(t.step)") }
        let bar = ProgressBar(total: t.options.steps, plainInterval: t.options.logInterval)
        try run.run { s in
            bar.update(s.step, rate: s.imagesPerSecond, extra: String(format: "adv %.3f hist %.3f rec %.3f D %.3f",
                                                                      s.adversarialLoss, s.histogramLoss, s.reconstructionLoss, s.discriminatorLoss))
        }
        print("done: \(output)/\(Checkpoint.fileName), samples in \(output)/samples")
    }
}
