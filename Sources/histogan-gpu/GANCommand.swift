import ArgumentParser
import Engine
import HistoGAN

/// `histogan-gpu gan`: the classic GANs (fc, dcgan, cgan, acgan) on the same engine.
struct GANCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Classic GANs (fully-connected GAN, DCGAN, conditional GAN, ACGAN) on Fashion-MNIST or an image folder.",
        subcommands: [GANTrainCommand.self, GANGenerateCommand.self, GANEvaluateCommand.self])
}

extension ClassicGANModel: ExpressibleByArgument {}

/// `--data` and `--labels`, shared by `gan train` and `gan evaluate`.
struct GANDataOptions: ParsableArguments {
    @Option(help: "fashion-mnist (Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist) or a folder of PNG/JPEG images.")
    var data = "fashion-mnist"

    @Option(help: "With a folder: CSV of `file,label` (one class) or `file,tag1;tag2` (tags) lines, file relative to the folder.")
    var labels: String?

    @Option(help: "With a folder: image side the images are resized to (a multiple of 4).")
    var resolution = 32

    /// Whether `--data` names the built-in Fashion-MNIST.
    var isFashionMNIST: Bool { data == "fashion-mnist" }

    /// The training images (Fashion-MNIST's train split or the folder).
    func trainingSet() throws -> LabelledDataset {
        isFashionMNIST ? try LabelledDataset.fashionMNIST(split: "train")
                       : try LabelledDataset.folder(data, resolution: resolution, labelsCSV: labels)
    }
}
