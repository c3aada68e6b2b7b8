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
        Under mpirun (mpirun -np N histogan-gpu train ...) N ranks share each step: --batch B is the global batch,
        each rank computes --accumulate micro-batches of B/(N·accumulate) images, one all-reduce sums the gradients,
        and rank 0 alone writes and prints; the result equals one process with --accumulate N·accumulate.
        """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var network: NetworkFlags

    @Option(help: "Folder of training images (searched recursively for .png, .jpg, .jpeg).")
    var data: String

    @Option(help: "Run directory for checkpoints, logs and samples.")
    var output: String

    @Option(help: "Images per optimizer step.")
    var batch = 4

    @Option(help: "Micro-batches accumulated per step, per rank under mpirun (batch must be a multiple of accumulate × ranks).")
    var accumulate = 1

    @Option(help: "Total optimizer steps.")
    var steps = 10_000

    @Option(help: "Random seed (weights, latents, noise and data order).")
    var seed: UInt64 = 0

    @Flag(help: "Continue the run in --output from its checkpoint.")
    var resume = false

    @Option(help: "Adam learning rate of G and D.")
    var lr: Float = 0.0025

    @Option(help: "Adam β1 of G and D.")
    var beta1: Float = 0

    @Option(help: "Adam β2 of G and D.")
    var beta2: Float = 0.99

    @Option(help: "Adversarial loss: non-saturating (StyleGAN2, with R1) or hinge (official HistoGAN, with gradient penalty).")
    var loss: AdversarialLoss = .nonSaturating

    @Option(name: .customLong("r1-gamma"), help: "R1 weight (default (R/256)²).")
    var r1Gamma: Float?

    @Option(name: .customLong("r1-interval"), help: "Steps between R1 (or hinge gradient-penalty) terms (default 16; 4 with --loss hinge).")
    var r1Interval: Int?

    @Option(name: .customLong("pl-weight"), help: "Path-length regularisation weight (0 disables).")
    var plWeight: Float = 2

    @Option(name: .customLong("pl-interval"), help: "Steps between path-length terms.")
    var plInterval = 4

    @Option(name: .customLong("pl-decay"), help: "Decay of the running mean path length.")
    var plDecay: Float = 0.01

    @Option(name: .customLong("pl-batch-shrink"), help: "Divides the batch of the path-length term.")
    var plBatchShrink = 2

    @Option(name: .customLong("mbstd-group"), help: "Discriminator minibatch-stddev group size.")
    var mbstdGroup = 4

    @Option(name: .customLong("style-mixing"), help: "Style-mixing probability.")
    var styleMixing: Float = 0.9

    @Option(name: .customLong("hist-alpha"), help: "Weight α of the histogram loss.")
    var histAlpha: Float = 2

    @Option(name: .customLong("hist-loss"), help: "Histogram loss over a batch: sample (α · mean Hellinger distance) or batch (the official code: one norm over the batch / N).")
    var histLoss: HistogramLossReduction = .sample

    @Option(name: .customLong("hist-kernel"), help: "Kernel of the training histograms.")
    var histKernel: HistogramKernel = .inverseQuadratic

    @Option(name: .customLong("hist-sigma"), help: "σ of the training histograms' kernel (default: one bin spacing, 6/(bins−1); the official code's 0.02 learns colour control far more slowly).")
    var histSigma: Float?

    @Option(name: .customLong("hist-resize"), help: "How images larger than 150 px are reduced before the histogram.")
    var histResize: HistogramResize = .sampling

    @Option(help: "Target histograms: interpolations of two random training images' histograms, computed from the R×R images (image) or from the full-resolution files (file, the official loader).")
    var targets: TargetHistogramSource = .image

    @Option(name: .customLong("ema-kimg"), help: "G EMA half-life in thousands of images.")
    var emaKimg: Double = 10

    @Option(name: .customLong("ema-rampup"), help: "EMA ramp-up: half-life at most this fraction of the images seen (0 disables).")
    var emaRampup: Double = 0.05

    @Flag(help: "Random horizontal flips of the training images.")
    var flip = false

    @Option(name: .customLong("log-every"), help: "Steps between log.jsonl records.")
    var logEvery = 10

    @Option(name: .customLong("sample-every"), help: "Steps between sample grids.")
    var sampleEvery = 500

    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery = 500

    @Option(name: .customLong("checksum-every"), help: "Under mpirun: steps between checks that every rank holds the same parameters.")
    var checksumEvery = 100

    @Option(name: .customLong("allreduce-bucket-mb"), help: "Under mpirun: MiB of gradients per MPI_Allreduce call.")
    var allreduceBucketMB = 64

    @Option(name: .customLong("mpi-library"), help: "Under mpirun: the MPI library to load (default: $HISTOGAN_MPI_LIBRARY, else libmpi.so.40, libmpi.so.12, libmpi.so).")
    var mpiLibrary: String?

    func validate() throws {
        guard batch > 0, accumulate > 0, batch % accumulate == 0 else {
            throw ValidationError("--batch \(batch) must be a positive multiple of --accumulate \(accumulate)")
        }
        guard steps > 0 else { throw ValidationError("--steps must be > 0") }
        guard emaRampup >= 0 else { throw ValidationError("--ema-rampup must be >= 0") }
        guard histSigma.map({ $0 > 0 }) ?? true else { throw ValidationError("--hist-sigma must be > 0") }
        guard mbstdGroup > 0, plInterval > 0, plBatchShrink > 0, r1Interval.map({ $0 > 0 }) ?? true else {
            throw ValidationError("--mbstd-group, --pl-interval, --pl-batch-shrink and --r1-interval must be > 0")
        }
        guard logEvery > 0, sampleEvery > 0, checkpointEvery > 0, checksumEvery > 0 else {
            throw ValidationError("--log-every, --sample-every, --checkpoint-every and --checksum-every must be > 0")
        }
        guard allreduceBucketMB > 0 else { throw ValidationError("--allreduce-bucket-mb must be > 0") }
    }

    /// The training options for `ranks` processes: `accumulate` counts the micro-batches of all ranks together.
    func options(ranks: Int = 1) -> TrainingOptions {
        var config = network.config
        config.mbstdGroup = mbstdGroup
        return TrainingOptions(
            network: config, batch: batch, accumulate: accumulate * ranks, steps: steps, learningRate: lr, beta1: beta1, beta2: beta2,
            loss: loss, r1Gamma: r1Gamma, r1Interval: r1Interval ?? (loss == .hinge ? 4 : 16), pathLengthWeight: plWeight,
            pathLengthDecay: plDecay, pathLengthBatchShrink: plBatchShrink, pathLengthInterval: plInterval,
            styleMixing: styleMixing, emaKimg: emaKimg, emaRampup: emaRampup > 0 ? emaRampup : nil, histogramAlpha: histAlpha,
            histogramLossReduction: histLoss,
            histogram: HistogramOptions(bins: network.bins, kernel: histKernel,
                                        sigma: histSigma ?? TrainingOptions.trainingSigma(bins: network.bins), resize: histResize),
            targetSource: targets, flip: flip, seed: seed, logInterval: logEvery, sampleInterval: sampleEvery,
            checkpointInterval: checkpointEvery)
    }

    func run() throws {
        let communicator = try Distributed.communicator(library: mpiLibrary)
        do {
            try train(communicator)
            try communicator.finalize()
        } catch {
            guard communicator.size > 1 else { throw error }
            // An error that every rank raised alike (decided on all-reduced values): rank 0 reports it, all stop.
            if let e = error as? HistoGANError, e.isRaisedByEveryRank {
                if communicator.isRoot { FileHandle.standardError.write(Data("Error: \(e)\n".utf8)) }
                try? communicator.finalize()
                throw ExitCode.failure
            }
            // Any other failure is this rank's alone; the others would wait for it forever: end the job.
            communicator.abort("Error: rank \(communicator.rank) of \(communicator.size) failed: \(error)", code: 1)
        }
    }

    func train(_ communicator: any Communicator) throws {
        let root = communicator.isRoot, ranks = communicator.size
        func say(_ line: String) { if root { print(line) } }
        if ranks > 1, !resume, batch % (accumulate * ranks) != 0 {
            throw HistoGANError.distributed("--batch \(batch) must be a multiple of --accumulate \(accumulate) × \(ranks) ranks")
        }
        let backend = try deviceOption.makeBackend(gpuOrdinal: communicator.localRank)
        say("device: \(backend.info.selector) — \(backend.info.name)")
        if ranks > 1 { say("data parallel: \(communicator.summary)") }
        say("loading \(data) at \(network.resolution)x\(network.resolution)…")
        let dataset = try ImageDataset(directory: data, resolution: network.resolution)
        say("\(dataset.count) images")
        if targets == .file && !resume { say("computing the target histograms of the full-resolution files…") }
        let run = try TrainingRun(directory: output, options: options(ranks: ranks), dataset: dataset, backend: backend, resume: resume,
                                  communicator: communicator, checksumInterval: checksumEvery, bucketBytes: allreduceBucketMB << 20)
        let t = run.trainer
        run.notes.forEach { say("note: \($0)") }
        say("G \(t.generator.parameters.count) parameters (mapping \(t.generator.mapping.parameters.count), histogram encoder \(t.generator.histogramEncoder.parameters.count), synthesis \(t.generator.synthesis.parameters.count)); D \(t.discriminator.parameters.count)")
        if ranks > 1 {
            say("\(ranks) ranks × \(t.localMicroBatches.count) micro-batch(es) of \(t.options.microBatch) images = batch \(t.options.batch)")
        }
        if resume { say("resuming at step \(t.step)") }
        let bar = root ? ProgressBar(total: t.options.steps, plainInterval: t.options.logInterval) : nil
        try run.run { s in
            bar?.update(s.step, rate: s.imagesPerSecond, extra: String(format: "G %.3f hist %.3f D %.3f", s.generatorLoss, s.histogramLoss, s.discriminatorLoss))
        }
        say("done: \(output)/\(Checkpoint.fileName), samples in \(output)/samples")
    }
}

extension AdversarialLoss: ExpressibleByArgument {}
extension HistogramLossReduction: ExpressibleByArgument {}
extension TargetHistogramSource: ExpressibleByArgument {}
