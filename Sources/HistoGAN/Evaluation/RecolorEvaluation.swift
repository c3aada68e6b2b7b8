import Engine
import Foundation

/// The measurements of one (input, target) pair of `evaluate-recolor`.
public struct RecolorPairResult: Codable, Sendable, Equatable {
    public var input: String
    public var target: String
    /// Hellinger distance between the input's and the target's histograms (nothing done).
    public var before: Double
    /// The same for the recoloured output (after up-sampling / post transfer, 8-bit as saved).
    public var after: Double
    /// The same for the MKL colour transfer of the input toward the target (the classical baseline).
    public var mkl: Double
    /// Luminance SSIM between the input and the output, at the input's size.
    public var ssim: Double
    /// Luminance SSIM between the input and the MKL transfer.
    public var ssimMKL: Double

    public init(input: String, target: String, before: Double, after: Double, mkl: Double, ssim: Double, ssimMKL: Double) {
        self.input = input; self.target = target
        self.before = before; self.after = after; self.mkl = mkl; self.ssim = ssim; self.ssimMKL = ssimMKL
    }
}

/// `evaluate-recolor`'s report: every pair and the means; `ratio` = mean after / mean before (below 1: the
/// output moved toward the targets), `mklRatio` the same for the MKL baseline.
public struct RecolorReport: Codable, Sendable, Equatable {
    public var checkpoint: String?
    public var method: String
    public var pairs: [RecolorPairResult]
    public var meanBefore: Double
    public var meanAfter: Double
    public var meanMKL: Double
    public var meanSSIM: Double
    public var meanSSIMMKL: Double
    public var ratio: Double
    public var mklRatio: Double
    /// How histograms were measured (the paper's: inverse-quadratic kernel, σ 0.02).
    public var histogram: HistogramOptions

    /// Means and ratios of `pairs`.
    public init(method: String, pairs: [RecolorPairResult], histogram: HistogramOptions) throws {
        guard !pairs.isEmpty else { throw HistoGANError.invalidConfig("no (input, target) pairs to evaluate") }
        func mean(_ key: KeyPath<RecolorPairResult, Double>) -> Double { pairs.map { $0[keyPath: key] }.reduce(0, +) / Double(pairs.count) }
        self.method = method
        self.pairs = pairs
        self.histogram = histogram
        meanBefore = mean(\.before); meanAfter = mean(\.after); meanMKL = mean(\.mkl)
        meanSSIM = mean(\.ssim); meanSSIMMKL = mean(\.ssimMKL)
        ratio = meanAfter / max(meanBefore, 1e-12)
        mklRatio = meanMKL / max(meanBefore, 1e-12)
    }

    /// A plain-text table: one line per pair, then the means.
    public func table() -> String {
        func name(_ s: String) -> String { String(((s as NSString).lastPathComponent as NSString).deletingPathExtension.prefix(22)) }
        var lines = [String(format: "%-22@ %-22@ %7@ %7@ %7@ %6@ %6@", "input" as NSString, "target" as NSString, "before" as NSString,
                            "after" as NSString, "mkl" as NSString, "ssim" as NSString, "ssimMKL" as NSString)]
        for p in pairs {
            lines.append(String(format: "%-22@ %-22@ %7.4f %7.4f %7.4f %6.3f %6.3f", name(p.input) as NSString, name(p.target) as NSString,
                                p.before, p.after, p.mkl, p.ssim, p.ssimMKL))
        }
        lines.append(String(format: "%-45@ %7.4f %7.4f %7.4f %6.3f %6.3f", "mean (\(pairs.count) pairs)" as NSString,
                            meanBefore, meanAfter, meanMKL, meanSSIM, meanSSIMMKL))
        lines.append(String(format: "Hellinger to target: after/before %.3f (MKL %.3f); luminance SSIM to input %.3f (MKL %.3f)",
                            ratio, mklRatio, meanSSIM, meanSSIMMKL))
        return lines.joined(separator: "\n")
    }

    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}

/// How well recolouring moves real images toward target colours while keeping their structure (DESIGN.md §11):
/// for every input × target pair, Hellinger distances of RGB-uv histograms (the paper's histogram) to the target
/// before, after, and for the MKL baseline, and luminance SSIM to the input.
public enum RecolorEvaluation {
    /// Recolours every input toward every target with `recolorer` and measures. `progress(done, total)` after each pair.
    public static func evaluate(recolorer: Recolorer, method: String, inputs: [(name: String, image: Image)],
                                targets: [ColorTarget], histogram: HistogramOptions,
                                progress: ((Int, Int) -> Void)? = nil) throws -> RecolorReport {
        let backend = recolorer.network.backend
        let measure = { (image: Image) throws -> [Float] in
            try ColorControlEvaluation.histograms(of: [image], options: histogram, backend: backend)[0]
        }
        let targetHistograms = try targets.map { target -> [Float] in
            guard let image = target.image else {
                throw HistoGANError.data("\(target.name): evaluate-recolor measures target images; a .npy histogram has no image")
            }
            return try measure(image)
        }
        var pairs: [RecolorPairResult] = []
        let total = inputs.count * targets.count
        for input in inputs {
            let inputHistogram = try measure(input.image)
            for (t, target) in targets.enumerated() {
                let output = try recolorer.recolor(input.image, name: input.name, target: target).output.quantized8()
                let mkl = try ColorTransferMKL.transfer(input.image, toward: target.image!, inputName: input.name,
                                                         targetName: target.name).quantized8()
                let reference = output.width == input.image.width && output.height == input.image.height
                    ? input.image : try ImageResize.resized(input.image, width: output.width, height: output.height)
                pairs.append(RecolorPairResult(
                    input: input.name, target: target.name,
                    before: try HistogramDistance.hellinger(targetHistograms[t], inputHistogram),
                    after: try HistogramDistance.hellinger(targetHistograms[t], measure(output)),
                    mkl: try HistogramDistance.hellinger(targetHistograms[t], measure(mkl)),
                    ssim: try StructureSimilarity.luminanceSSIM(reference, output),
                    ssimMKL: try StructureSimilarity.luminanceSSIM(input.image, mkl)))
                progress?(pairs.count, total)
            }
        }
        return try RecolorReport(method: method, pairs: pairs, histogram: histogram)
    }
}
