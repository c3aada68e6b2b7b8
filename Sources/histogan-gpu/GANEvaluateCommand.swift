import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct GANEvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Judge a classic-GAN checkpoint with a classifier trained (once, cached) on the real training set.",
        discussion: """
        Reports, for real test images and for generated ones: accuracy (against the true class, or against the
        requested class for cgan/acgan), the classes covered (predicted for ≥ 1% of the images), each class's share,
        and an Inception-Score-like figure exp(E KL(p(y|x) ‖ p(y))) computed with the classifier. Fashion-MNIST uses
        its t10k split as the test set; a folder holds out every 10th image (the classifier trains on the rest).
        """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var dataOptions: GANDataOptions

    @Option(help: "RUN/checkpoint.safetensors written by `gan train`.")
    var checkpoint: String

    @Option(help: "Generated images to judge.")
    var count = 5000

    @Option(help: "Classifier file: loaded when present, else trained and saved there. Default: ~/.cache/histogan-gpu/classifier-<data>-<steps>.safetensors.")
    var classifier: String?

    @Option(name: .customLong("classifier-steps"), help: "Adam steps (batch 64) when the classifier has to be trained.")
    var classifierSteps = 1500

    @Option(help: "Also write the report as JSON here.")
    var json: String?

    func validate() throws {
        guard count > 0, classifierSteps > 0 else { throw ValidationError("--count and --classifier-steps must be > 0") }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        let (generator, _) = try ClassicCheckpoint.generator(at: checkpoint, on: backend)
        let training: LabelledDataset, test: LabelledDataset
        if dataOptions.isFashionMNIST {
            training = try LabelledDataset.fashionMNIST(split: "train")
            test = try LabelledDataset.fashionMNIST(split: "t10k")
        } else {
            let all = try LabelledDataset.folder(dataOptions.data, resolution: dataOptions.resolution, labelsCSV: dataOptions.labels)
            training = all.subset((0..<all.count).filter { $0 % 10 != 0 }, source: all.source + " (9 of 10)")
            test = all.subset((0..<all.count).filter { $0 % 10 == 0 }, source: all.source + " (every 10th)")
        }
        let path = classifier ?? defaultClassifierPath(for: training)
        let bar = ProgressBar(total: classifierSteps, plainInterval: 100)
        let (judge, trained) = try ClassicEvaluation.classifier(cachedAt: path, training: training, steps: classifierSteps, backend: backend) { step, loss in
            bar.update(step, rate: 0, extra: String(format: "classifier loss %.3f", loss))
        }
        print(trained ? "trained the classifier on \(training.source): \(path)" : "classifier: \(path)")
        let report = try ClassicEvaluation.evaluate(generator: generator, checkpoint: checkpoint, classifier: judge, classifierPath: path,
                                                    test: test, count: count, backend: backend)
        print(report.text)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(report), to: json)
            print("report: \(json)")
        }
    }

    /// `~/.cache/histogan-gpu/classifier-<data>-<resolution>-<steps>.safetensors`.
    func defaultClassifierPath(for training: LabelledDataset) -> String {
        let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")
        let name = dataOptions.isFashionMNIST ? "fashion-mnist"
            : (dataOptions.data as NSString).standardizingPath.replacingOccurrences(of: "/", with: "_")
        return "\(home)/histogan-gpu/classifier-\(name)-\(training.resolution)-\(classifierSteps).safetensors"
    }
}
