import Engine
import Foundation

/// The histograms of every training image, computed once, and the targets drawn from them at each step:
/// `t·H(a) + (1 − t)·H(b)` for two different random images a ≠ b and t ~ U(0, 1) per sample (the official
/// HistoGAN loader's `hist_interpolation`). Draws are keyed by (seed, step, micro-batch), so a resumed run
/// draws the same targets as an uninterrupted one.
public struct TargetHistogramBank: Sendable {
    /// The options every histogram of the bank was computed with.
    public let options: HistogramOptions
    /// Number of images.
    public let count: Int
    /// `[count, 3, bins, bins]`.
    let values: [Float]

    /// One target: `t·H(first) + (1 − t)·H(second)`.
    public struct Draw: Sendable, Equatable {
        public var first: Int
        public var second: Int
        public var t: Float
    }

    /// A bank over histograms `[count, 3, bins, bins]` (host floats).
    public init(histograms: [Float], options: HistogramOptions) throws {
        let per = 3 * options.bins * options.bins
        guard !histograms.isEmpty, histograms.count % per == 0 else {
            throw HistoGANError.data("target histograms: \(histograms.count) values is not a whole number of [3, \(options.bins), \(options.bins)] histograms")
        }
        self.options = options
        self.values = histograms
        self.count = histograms.count / per
    }

    /// Histograms of images `[N, 3, H, W]` in [-1, 1] (computed on their backend).
    public init(images: Tensor, options: HistogramOptions) throws {
        let h = try Autograd.withoutGrad { try Tensor.rgbuvHistogram((images + 1) * 0.5, options: options).array() }
        try self.init(histograms: h, options: options)
    }

    /// Histograms of the dataset's training images (R×R, `.image`) or of its files at full resolution (`.file`,
    /// decoded again, in parallel, each on a one-thread CPU backend).
    public init(dataset: ImageDataset, source: TargetHistogramSource, options: HistogramOptions, backend: any Backend) throws {
        switch source {
        case .image:
            let r = dataset.resolution, chunk = 64
            var all: [Float] = []
            all.reserveCapacity(dataset.count * 3 * options.bins * options.bins)
            for start in stride(from: 0, to: dataset.count, by: chunk) {
                let indices = Array(start..<min(dataset.count, start + chunk))
                let images = try Tensor(dataset.batch(indices, flips: [Bool](repeating: false, count: indices.count)),
                                        shape: [indices.count, 3, r, r], on: backend)
                all += try TargetHistogramBank(images: images, options: options).values
            }
            try self.init(histograms: all, options: options)
        case .file:
            let histograms = try ImageDataset.mapFiles(dataset.paths, in: dataset.directory) { path in
                let image = try ImageIO.read(path)
                let cpu = CPUBackend(threads: 1)
                let x = try Tensor(image.pixels, shape: [1, 3, image.height, image.width], on: cpu)   // [0, 1]
                return try Autograd.withoutGrad { try Tensor.rgbuvHistogram(x, options: options).array() }
            }
            let all = Array(histograms.joined())
            try self.init(histograms: all, options: options)
        }
    }

    /// Histogram `i`, `[3, bins, bins]`.
    public func histogram(_ i: Int) -> ArraySlice<Float> {
        let per = values.count / count
        return values[(i * per)..<((i + 1) * per)]
    }

    /// The `size` targets of training step `step`, micro-batch `k`.
    public func draws(step: Int, k: Int, size: Int, seed: UInt64) -> [Draw] {
        var random = HostRandom(seed: seed ^ 0x7A26_E7B1, stream: UInt64(step) << 8 | UInt64(k))
        return (0..<size).map { _ in
            let a = random.int(count)
            // b ≠ a whenever there are two images: draw from the others.
            let b = count > 1 ? (a + 1 + random.int(count - 1)) % count : a
            return Draw(first: a, second: b, t: random.uniform())
        }
    }

    /// The interpolated histograms of `draws`, `[draws.count, 3, bins, bins]` on `backend`.
    public func targets(_ draws: [Draw], on backend: any Backend) throws -> Tensor {
        let b = options.bins
        var out: [Float] = []
        out.reserveCapacity(draws.count * 3 * b * b)
        for d in draws {
            let (h1, h2) = (histogram(d.first), histogram(d.second))
            out += zip(h1, h2).map { d.t * $0 + (1 - d.t) * $1 }
        }
        return try Tensor(out, shape: [draws.count, 3, b, b], on: backend)
    }
}
