import Engine
import Foundation

/// A colour target for generation: an image (its histogram is computed) or a histogram from a `.npy` file.
public struct ColorTarget: Sendable {
    /// `[3, bins, bins]` normalised histogram.
    public var histogram: [Float]
    /// Thumbnail for the grid's first column: the image, or nil for a `.npy` histogram.
    public var image: Image?
    /// Where the target came from (a path, or `path[i]` for one histogram of a `.npy` batch).
    public var name: String

    /// A target from a histogram (`[3, bins, bins]`, normalised), with an optional thumbnail image.
    public init(histogram: [Float], image: Image?, name: String) {
        self.histogram = histogram
        self.image = image
        self.name = name
    }

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

/// Per-pixel noise of generated images, NVlabs' `noise_mode`.
public enum NoiseMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// One fixed noise map per layer (Philox seed 0), the same for every image.
    case const
    /// Noise of each image's own, keyed by its latent seed (so reproducible, and independent of the batch).
    case random
    /// No per-pixel noise.
    case none

    /// The noise for a batch of images with these latent seeds, nil for `.none`.
    public func source(seeds: [Int]) -> NoiseSource? {
        switch self {
        case .const: return NoiseSource(seed: 0, layout: .shared)
        case .random: return NoiseSource(seed: 0, layout: .perSample(seeds.map { UInt64(bitPattern: Int64($0)) }))
        case .none: return nil
        }
    }
}

/// Image generation from a trained generator: grids over targets × seeds, interpolations (frames, strip and
/// animated GIF), style-mixing grids (StyleMixing.swift).
public struct Sampler {
    public let generator: Generator
    public let backend: any Backend
    /// How target images are turned into the histograms the generator reads: the options it was trained with.
    public let histogramOptions: HistogramOptions

    /// Loads the EMA generator of a checkpoint onto `backend`.
    public init(checkpoint path: String, backend: any Backend) throws {
        let options = try Checkpoint.options(at: path)
        let trainer = try Trainer(options: options, backend: backend)
        try Checkpoint.restore(trainer, from: path)
        generator = trainer.generatorEMA
        self.backend = backend
        histogramOptions = options.histogram
    }

    /// Samples from `generator`, whose parameters live on `backend`; targets are histogrammed with
    /// `histogramOptions` (default: the network's bins, HistoGAN's kernel, sampling reduction).
    public init(generator: Generator, backend: any Backend, histogramOptions: HistogramOptions? = nil) {
        self.generator = generator
        self.backend = backend
        self.histogramOptions = histogramOptions ?? HistogramOptions(bins: generator.config.histogramBins, resize: .sampling)
    }

    /// Generator output `[n, 3, R, R]` in about [-1, 1] → `n` images in [0, 1] (clamped).
    static func images(_ batch: Tensor, resolution r: Int) throws -> [Image] {
        let values = try batch.array(), plane = 3 * r * r
        return try (0..<(values.count / plane)).map { i in
            try Image(width: r, height: r, pixels: values[(i * plane)..<((i + 1) * plane)].map { min(1, max(0, ($0 + 1) / 2)) })
        }
    }

    /// Images for every (seed, histogram) pair given, `[n, 3, R, R]` in [0, 1] as `Image`s, with per-pixel `noise`
    /// (default none).
    public func generate(seeds: [Int], histograms: [[Float]], truncation: Float, noise: NoiseMode = .none) throws -> [Image] {
        let b = generator.config.histogramBins, r = generator.config.resolution
        return try Autograd.withoutGrad {
            let z = try SampleGrid.latents(seeds: seeds, dim: generator.config.latentDim, on: backend)
            let h = try Tensor(histograms.flatMap { $0 }, shape: [histograms.count, 3, b, b], on: backend)
            return try Sampler.images(generator(z: z, histograms: h, truncation: truncation, noise: noise.source(seeds: seeds)), resolution: r)
        }
    }

    /// Grid: one row per target (its thumbnail first), one column per seed, with per-pixel `noise` (default none).
    /// Writes a PNG to `path` (`writeSamples` also writes the images one by one).
    public func writeGrid(targets: [ColorTarget], seeds: [Int], truncation: Float, noise: NoiseMode = .none, to path: String) throws {
        try writeSamples(targets: targets, seeds: seeds, truncation: truncation, noise: noise, grid: path, directory: nil)
    }

    /// `frames` images moving linearly from (seed a, histogram A) to (seed b, histogram B) in z and histogram
    /// space; written as `frame-NNN.png` into `directory`, `strip.png` with all frames side by side, and with
    /// `animation` an animated GIF of the frames.
    @discardableResult
    public func interpolate(seeds: (Int, Int), histograms: ([Float], [Float]), frames: Int, truncation: Float,
                            to directory: String, animation: InterpolationAnimation? = nil) throws -> InterpolationOutput {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dim = generator.config.latentDim, b = generator.config.histogramBins, r = generator.config.resolution
        let z = try SampleGrid.latents(seeds: [seeds.0, seeds.1], dim: dim, on: backend).array()
        var output = InterpolationOutput(frames: [], strip: directory + "/strip.png", animation: animation?.path)
        var images: [Image] = []
        for f in 0..<frames {
            let t = frames == 1 ? 0 : Float(f) / Float(frames - 1)
            let zf = (0..<dim).map { z[$0] * (1 - t) + z[dim + $0] * t }
            let hf = zip(histograms.0, histograms.1).map { $0 * (1 - t) + $1 * t }
            let image = try Autograd.withoutGrad {
                try Sampler.images(generator(z: Tensor(zf, shape: [1, dim], on: backend), histograms: Tensor(hf, shape: [1, 3, b, b], on: backend),
                                             truncation: truncation), resolution: r)[0]
            }
            let path = String(format: "%@/frame-%03d.png", directory, f)
            try ImageIO.writePNG(image, to: path)
            output.frames.append(path)
            images.append(image)
        }
        try ImageIO.writePNG(Image.grid(images, columns: frames), to: output.strip)
        if let animation {
            let sequence = animation.bounce && images.count > 2 ? images + images.dropFirst().dropLast().reversed() : images
            try GIFWriter.write(sequence, delays: [animation.frameDelay], to: animation.path, options: GIFOptions(palette: animation.palette ?? (histograms.0 == histograms.1 ? .global : .perFrame)))
        }
        return output
    }
}

/// An animated GIF of interpolation frames.
public struct InterpolationAnimation: Sendable, Equatable {
    /// Where the GIF goes.
    public var path: String
    /// Frames per second, 1…50 (GIF delays are whole hundredths of a second; viewers slow shorter ones down).
    public var fps: Double
    /// Play the frames forward, then backward (without repeating the ends), so the loop has no jump.
    public var bounce: Bool
    /// One colour table for all frames (steady colours) or one per frame (closer colours when the colours change
    /// a lot along the interpolation, at the price of a slight shimmer). nil: global when both ends have the
    /// same histogram, per frame when they differ (one table cannot cover, say, greens turning into blues).
    public var palette: GIFOptions.Palette?

    /// Checks `fps`; the error names `--fps`.
    public init(path: String, fps: Double = 12, bounce: Bool = false, palette: GIFOptions.Palette? = nil) throws {
        guard fps >= 1, fps <= 50 else {
            throw HistoGANError.invalidConfig("--fps \(String(format: "%g", fps)): must be between 1 and 50 (GIF frame delays are whole hundredths of a second, at least 2)")
        }
        self.path = path
        self.fps = fps
        self.bounce = bounce
        self.palette = palette
    }

    /// Delay per frame in hundredths of a second: `round(100 / fps)`.
    public var frameDelay: Int { Int((100 / fps).rounded()) }
}

/// The files `Sampler.interpolate` wrote.
public struct InterpolationOutput: Sendable, Equatable {
    /// `frame-NNN.png`, in order.
    public var frames: [String]
    /// All frames side by side.
    public var strip: String
    /// The animated GIF, if one was asked for.
    public var animation: String?
}
