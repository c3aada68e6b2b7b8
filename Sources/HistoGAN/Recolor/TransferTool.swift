import Engine
import Foundation

/// The `transfer` command's work: read two image files, apply `ColorTransferMKL` (at full resolution, or on
/// a small copy brought back by `PyramidUpsampling`, the recolour pipeline's path), write a PNG, and report
/// the luminance SSIM between input and output.
public enum TransferTool {
    /// How to run a transfer.
    public struct Options: Sendable {
        /// When set, the transfer runs on an area-downsampled `lowRes × lowRes` copy of the input and the
        /// result is brought back to full size by Laplacian-pyramid swapping (as `recolor` does with the
        /// network's output); nil transfers at full resolution.
        public var lowRes: Int?
        /// Pyramid levels for the `lowRes` path (`PyramidUpsampling.defaultLevels` when nil).
        public var pyramidLevels: Int?

        /// Options; the defaults transfer at full resolution.
        public init(lowRes: Int? = nil, pyramidLevels: Int? = nil) { self.lowRes = lowRes; self.pyramidLevels = pyramidLevels }
    }

    /// What one transfer did.
    public struct Report: Sendable {
        /// The input's size (also the output's).
        public let inputSize: ImageSize
        /// The target's size.
        public let targetSize: ImageSize
        /// Mean R, G, B of the input, the target and the output.
        public let inputMean: [Double], targetMean: [Double], outputMean: [Double]
        /// Luminance SSIM between the input and the output (structure kept; nil below 11×11).
        public let ssim: Double?
        /// Seconds spent in the transfer (and resizing and pyramid, on the low-resolution path); not I/O.
        public let seconds: Double
    }

    /// Reads `input` and `target` (PNG or JPEG), writes `input` recoloured toward `target` to the PNG
    /// `output` (atomically), and reports sizes, means, SSIM and time.
    ///
    /// - Throws: `ImageIOError` naming the file that cannot be read or written; `RecolorError` for a
    ///   tiny or greyscale input (naming its path), a bad option, or an `output` not ending in `.png`.
    public static func run(input: String, target: String, output: String, options: Options = Options()) throws -> Report {
        guard output.lowercased().hasSuffix(".png") else {
            throw RecolorError.invalidArgument(name: "--output", value: output, expected: "must be a .png file (the output is written as PNG)")
        }
        if let lowRes = options.lowRes, lowRes < ColorTransferMKL.minimumSide {
            throw RecolorError.invalidArgument(name: "--low-res", value: "\(lowRes)", expected: "must be at least \(ColorTransferMKL.minimumSide)")
        }
        let source = try ImageIO.read(input), goal = try ImageIO.read(target)
        let start = DispatchTime.now().uptimeNanoseconds
        let result: Image
        if let lowRes = options.lowRes {
            try RecolorCheck.size(source, atLeast: ColorTransferMKL.minimumSide, name: input)
            let small = try ImageResize.resized(source, width: lowRes, height: lowRes)
            let recoloured = try ColorTransferMKL.transfer(small, toward: goal, inputName: "\(input) (at \(lowRes)x\(lowRes))", targetName: target)
            result = try PyramidUpsampling.upsample(recoloured, original: source, levels: options.pyramidLevels)
        } else {
            result = try ColorTransferMKL.transfer(source, toward: goal, inputName: input, targetName: target)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try ImageIO.writePNG(result, to: output)
        let ssim = min(source.width, source.height) >= StructureSimilarity.window
            ? try StructureSimilarity.luminanceSSIM(source, result.quantized8()) : nil
        return Report(inputSize: ImageSize(source), targetSize: ImageSize(goal),
                      inputMean: ColorTransferMKL.Statistics(source).mean, targetMean: ColorTransferMKL.Statistics(goal).mean,
                      outputMean: ColorTransferMKL.Statistics(result).mean, ssim: ssim, seconds: seconds)
    }
}
