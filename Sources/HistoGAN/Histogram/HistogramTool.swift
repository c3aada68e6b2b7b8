import Engine
import Foundation

/// The histograms of image files, computed on one backend: what `histogan-gpu histogram` does.
public struct HistogramTool: Sendable {
    public let backend: any Backend
    public let options: HistogramOptions

    /// A tool computing histograms with `options` on `backend`.
    public init(backend: any Backend, options: HistogramOptions = HistogramOptions()) {
        self.backend = backend
        self.options = options
    }

    /// The decoded images and their histograms `[N, 3, bins, bins]`, in the order of `paths`. Images of
    /// the same size are binned together in one batch call.
    public func histograms(of paths: [String]) throws -> (images: [Image], histograms: NumPyArray) {
        guard !paths.isEmpty else { throw HistogramDistanceError.mismatch("no images given") }
        let images = try paths.map(ImageIO.read)
        let bins = options.bins, perImage = 3 * bins * bins
        var values = [Float](repeating: 0, count: images.count * perImage)
        var groups: [String: [Int]] = [:]
        for (i, image) in images.enumerated() { groups["\(image.width)x\(image.height)", default: []].append(i) }
        for indices in groups.values.sorted(by: { $0[0] < $1[0] }) {
            let batch = try Image.tensor(indices.map { images[$0] }, on: backend)
            let result = try Tensor.rgbuvHistogram(batch, options: options).array()
            for (k, i) in indices.enumerated() {
                values.replaceSubrange((i * perImage)..<((i + 1) * perImage), with: result[(k * perImage)..<((k + 1) * perImage)])
            }
        }
        return (images, try NumPyArray(shape: [images.count, 3, bins, bins], values: values))
    }

    /// Writes the histograms of `paths` to `output` (`.npy`, float32 `[N, 3, bins, bins]`) and, when
    /// `plot` is given, their picture (`HistogramPlot`) as PNG. Returns the histograms.
    @discardableResult
    public func run(paths: [String], output: String, plot: String? = nil) throws -> NumPyArray {
        let (images, histograms) = try histograms(of: paths)
        try NumPyFile.write(histograms, to: output)
        if let plot {
            try ImageIO.writePNG(HistogramPlot().render(images: images, histograms: histograms.values, bins: options.bins), to: plot)
        }
        return histograms
    }

    /// Hellinger distance and KL divergences of the histograms of images `a` and `b`.
    public func compare(_ a: String, _ b: String) throws -> HistogramComparison {
        let h = try histograms(of: [a, b]).histograms.values
        let n = h.count / 2
        let p = Array(h[..<n]), q = Array(h[n...])
        return HistogramComparison(hellinger: try HistogramDistance.hellinger(p, q),
                                   klAB: try HistogramDistance.klDivergence(p, q),
                                   klBA: try HistogramDistance.klDivergence(q, p))
    }
}

/// How far apart two images' colour histograms are.
public struct HistogramComparison: Sendable, Codable, Equatable {
    /// `(1/√2)·‖√p − √q‖₂`, in [0, 1]; HistoGAN's histogram loss for one pair (before the weight α).
    public var hellinger: Double
    /// KL(A‖B) and KL(B‖A) in nats.
    public var klAB: Double
    public var klBA: Double
}
