import ArgumentParser
import Foundation
import HistoGAN

/// `histogan-gpu transfer`: the classical MKL colour transfer of one image toward another.
struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Recolour an image toward a target image's colours with the linear Monge-Kantorovich (MKL) transfer.",
        discussion: """
        Maps every input colour x to T(x - mean_input) + mean_target, where T is the symmetric linear map that
        turns the input's colour covariance into the target's (Pitie & Kokaram 2007; HistoGAN's
        utils/color_transfer_MKL.py). The output has the input's size; the two images may differ in size.
        This is the baseline that evaluate-recolor compares against, and the post transfer of recolor.
        """)

    @Option(help: ArgumentHelp("The image to recolour (PNG or JPEG).", valueName: "image"))
    var input: String

    @Option(help: ArgumentHelp("The image whose colours to take (PNG or JPEG).", valueName: "image"))
    var target: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the recoloured PNG.", valueName: "file"))
    var output: String

    func validate() throws {
        guard output.lowercased().hasSuffix(".png") else {
            throw ValidationError("--output \(output): must be a .png file (the output is written as PNG)")
        }
    }

    func run() throws {
        let report = try TransferTool.run(input: input, target: target, output: output)
        func rgb(_ m: [Double]) -> String { m.map { String(format: "%.3f", $0) }.joined(separator: " ") }
        print("input  \(input) (\(report.inputSize)), mean RGB \(rgb(report.inputMean))")
        print("target \(target) (\(report.targetSize)), mean RGB \(rgb(report.targetMean))")
        print("wrote \(output) (\(report.inputSize)), mean RGB \(rgb(report.outputMean)), transfer \(String(format: "%.3f", report.seconds)) s")
    }
}
