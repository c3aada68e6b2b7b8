import Engine
import Foundation

/// The `transfer` command's work: read two image files, apply `ColorTransferMKL`, write a PNG.
public enum TransferTool {
    /// What one transfer did.
    public struct Report: Sendable {
        /// The input's size (also the output's).
        public let inputSize: ImageSize
        /// The target's size.
        public let targetSize: ImageSize
        /// Mean R, G, B of the input, the target and the output.
        public let inputMean: [Double], targetMean: [Double], outputMean: [Double]
        /// Seconds spent in the transfer itself (not reading or writing).
        public let seconds: Double
    }

    /// Reads `input` and `target` (PNG or JPEG), writes `input` recoloured toward `target` to the PNG
    /// `output` (atomically), and reports sizes, means and time.
    ///
    /// - Throws: `ImageIOError` naming the file that cannot be read or written; `RecolorError` for a
    ///   tiny or greyscale input (naming its path), or an `output` that does not end in `.png`.
    public static func run(input: String, target: String, output: String) throws -> Report {
        guard output.lowercased().hasSuffix(".png") else {
            throw RecolorError.invalidArgument(name: "--output", value: output, expected: "must be a .png file (the output is written as PNG)")
        }
        let source = try ImageIO.read(input), goal = try ImageIO.read(target)
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try ColorTransferMKL.transfer(source, toward: goal, inputName: input, targetName: target)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try ImageIO.writePNG(result, to: output)
        return Report(inputSize: ImageSize(source), targetSize: ImageSize(goal),
                      inputMean: ColorTransferMKL.Statistics(source).mean, targetMean: ColorTransferMKL.Statistics(goal).mean,
                      outputMean: ColorTransferMKL.Statistics(result).mean, seconds: seconds)
    }
}
