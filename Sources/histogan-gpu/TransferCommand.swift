import ArgumentParser
import Foundation
import HistoGAN

/// `histogan-gpu transfer`: the classical MKL colour transfer of one image toward another.
struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Recolour an image toward a target image's colours with the linear Monge-Kantorovich (MKL) transfer.",
        discussion: """
        Maps every input colour x to T(x - mean_input) + mean_target, where T is the symmetric linear map that \
        turns the input's colour covariance into the target's (Pitie & Kokaram 2007; HistoGAN's \
        utils/color_transfer_MKL.py). The output has the input's size; the two images may differ in size. \
        This is the baseline that evaluate-recolor compares against, and the post transfer of recolor. \
        Prints the luminance SSIM between input and output (1 = structure unchanged).
        """)

    @Option(help: ArgumentHelp("The image to recolour (PNG or JPEG).", valueName: "image"))
    var input: String

    @Option(help: ArgumentHelp("The image whose colours to take (PNG or JPEG).", valueName: "image"))
    var target: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the recoloured PNG.", valueName: "file"))
    var output: String

    @Option(name: .customLong("low-res"), help: ArgumentHelp(
        "Transfer an N x N copy and bring it back to full size by Laplacian-pyramid upsampling (the recolor pipeline's path, MKL standing in for the network). Default: full resolution.",
        valueName: "N"))
    var lowRes: Int?

    @Option(name: .customLong("pyramid-levels"), help: ArgumentHelp("Pyramid levels for --low-res (the official default).", valueName: "N"))
    var pyramidLevels = PyramidUpsampling.defaultLevels

    func validate() throws {
        guard output.lowercased().hasSuffix(".png") else {
            throw ValidationError("--output \(output): must be a .png file (the output is written as PNG)")
        }
        if let lowRes, lowRes < ColorTransferMKL.minimumSide {
            throw ValidationError("--low-res \(lowRes): must be at least \(ColorTransferMKL.minimumSide)")
        }
        guard (1...PyramidUpsampling.maxLevels).contains(pyramidLevels) else {
            throw ValidationError("--pyramid-levels \(pyramidLevels): must be between 1 and \(PyramidUpsampling.maxLevels)")
        }
    }

    func run() throws {
        let options = TransferTool.Options(lowRes: lowRes, pyramidLevels: pyramidLevels)
        let report = try TransferTool.run(input: input, target: target, output: output, options: options)
        func rgb(_ m: [Double]) -> String { m.map { String(format: "%.3f", $0) }.joined(separator: " ") }
        let path = lowRes.map { "at \($0)x\($0) + pyramid (\(pyramidLevels) levels)" } ?? "at full resolution"
        print("input  \(input) (\(report.inputSize)), mean RGB \(rgb(report.inputMean))")
        print("target \(target) (\(report.targetSize)), mean RGB \(rgb(report.targetMean))")
        print("wrote \(output) (\(report.inputSize)), mean RGB \(rgb(report.outputMean))")
        let ssim = report.ssim.map { String(format: "%.4f", $0) } ?? "n/a (under 11x11)"
        print("transfer \(path): \(String(format: "%.3f", report.seconds)) s, luminance SSIM to input \(ssim)")
    }
}
