import Engine
import Foundation

/// A colour target for generation: an image (its histogram is computed) or a histogram from a `.npy` file.
public struct ColorTarget: Sendable {
    /// `[3, bins, bins]` normalised histogram.
    public var histogram: [Float]
    /// Thumbnail for the grid's first column: the image, or nil for a `.npy` histogram.
    public var image: Image?
    public var name: String

    /// Loads `path`: `.npy` files hold `[3, bins, bins]` or `[N, 3, bins, bins]` histograms (one target each);
    /// anything else is decoded as an image and its histogram computed with `options` on `backend`.
    public static func load(_ path: String, options: HistogramOptions, backend: any Backend) throws -> [ColorTarget] {
        if path.lowercased().hasSuffix(".npy") {
            let array = try NumPyFile.read(path)
            let per = 3 * options.bins * options.bins
            guard array.shape.suffix(3) == [3, options.bins, options.bins], array.values.count % per == 0 else {
                throw HistoGANError.data("\(path): histogram shape \(array.shape) does not match the network's [N, 3, \(options.bins), \(options.bins)]")
            }
            return (0..<(array.values.count / per)).map { i in
                ColorTarget(histogram: Array(array.values[(i * per)..<((i + 1) * per)]), image: nil, name: "\(path)[\(i)]")
            }
        }
        let image = try ImageIO.read(path)
        let h = try Autograd.withoutGrad {
            try Tensor.rgbuvHistogram(Tensor(image.pixels, shape: [1, 3, image.height, image.width], on: backend), options: options).array()
        }
        return [ColorTarget(histogram: h, image: image, name: path)]
    }
}

/// Image generation from a trained generator: grids over targets × seeds, interpolations.
public struct Sampler {
    public let generator: Generator
    public let backend: any Backend

    /// Loads the EMA generator of a checkpoint onto `backend`.
    public init(checkpoint path: String, backend: any Backend) throws {
        let options = try Checkpoint.options(at: path)
        let trainer = try Trainer(options: options, backend: backend)
        try Checkpoint.restore(trainer, from: path)
        generator = trainer.generatorEMA
        self.backend = backend
    }

    public var histogramOptions: HistogramOptions {
        HistogramOptions(bins: generator.config.histogramBins, resize: .sampling)
    }

    /// Images for every (seed, histogram) pair given, `[n, 3, R, R]` in [0, 1] as `Image`s.
    public func generate(seeds: [Int], histograms: [[Float]], truncation: Float) throws -> [Image] {
        let b = generator.config.histogramBins, r = generator.config.resolution
        return try Autograd.withoutGrad {
            let z = try SampleGrid.latents(seeds: seeds, dim: generator.config.latentDim, on: backend)
            let h = try Tensor(histograms.flatMap { $0 }, shape: [histograms.count, 3, b, b], on: backend)
            let images = try generator(z: z, histograms: h, truncation: truncation).array()
            return try (0..<seeds.count).map { i in
                try Image(width: r, height: r, pixels: images[(i * 3 * r * r)..<((i + 1) * 3 * r * r)].map { min(1, max(0, ($0 + 1) / 2)) })
            }
        }
    }

    /// Grid: one row per target (its thumbnail first), one column per seed. Writes a PNG to `path`.
    public func writeGrid(targets: [ColorTarget], seeds: [Int], truncation: Float, to path: String) throws {
        let r = generator.config.resolution
        var cells: [Image] = []
        for t in targets {
            let thumb = try t.image.map { try $0.resizedNearest(width: r, height: r) }
                ?? HistogramPlot().composite(t.histogram, bins: generator.config.histogramBins, side: r)
            cells.append(thumb)
            cells += try generate(seeds: seeds, histograms: Array(repeating: t.histogram, count: seeds.count), truncation: truncation)
        }
        try ImageIO.writePNG(Image.grid(cells, columns: seeds.count + 1), to: path)
    }

    /// `frames` images moving linearly from (seed a, histogram A) to (seed b, histogram B) in z and histogram
    /// space; written as `frame-NNN.png` into `directory` plus `strip.png` with all frames side by side.
    public func interpolate(seeds: (Int, Int), histograms: ([Float], [Float]), frames: Int, truncation: Float,
                            to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dim = generator.config.latentDim, b = generator.config.histogramBins, r = generator.config.resolution
        let z = try SampleGrid.latents(seeds: [seeds.0, seeds.1], dim: dim, on: backend).array()
        var paths: [String] = [], images: [Image] = []
        for f in 0..<frames {
            let t = frames == 1 ? 0 : Float(f) / Float(frames - 1)
            let zf = (0..<dim).map { z[$0] * (1 - t) + z[dim + $0] * t }
            let hf = zip(histograms.0, histograms.1).map { $0 * (1 - t) + $1 * t }
            let image = try Autograd.withoutGrad { () -> Image in
                let out = try generator(z: Tensor(zf, shape: [1, dim], on: backend), histograms: Tensor(hf, shape: [1, 3, b, b], on: backend),
                                        truncation: truncation).array()
                return try Image(width: r, height: r, pixels: out.map { min(1, max(0, ($0 + 1) / 2)) })
            }
            let path = String(format: "%@/frame-%03d.png", directory, f)
            try ImageIO.writePNG(image, to: path)
            paths.append(path)
            images.append(image)
        }
        try ImageIO.writePNG(Image.grid(images, columns: frames), to: directory + "/strip.png")
        return paths
    }
}
