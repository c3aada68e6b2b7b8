import Engine
import Foundation

/// How `recolor` changes an image's colours at the network's resolution.
public enum RecolorMethod: String, Codable, Sendable, CaseIterable {
    /// A trained ReHistoGAN (`recolor-train`): one forward pass.
    case rehistogan
    /// Projection into a trained HistoGAN (`Projection`), then regeneration with the target's histogram.
    case projection
}

/// How the network-resolution result is brought back to the input's size.
public enum RecolorUpsample: String, Codable, Sendable, CaseIterable {
    /// Laplacian-pyramid swapping: the result's low frequencies, the input's high frequencies (official default).
    case pyramid
    /// None: the output stays at the network's resolution.
    case none
}

/// The optional colour transfer after the network (official `--post_recoloring`).
public enum RecolorPostTransfer: String, Codable, Sendable, CaseIterable {
    /// The full-size input mapped by the MKL transfer toward the network's output colours (replaces the
    /// up-sampled output).
    case mkl
    case none
}

/// Something that recolours a batch at a network's resolution: images `[N, 3, R, R]` in [-1, 1] and target
/// histograms `[N, 3, B, B]` → recoloured `[N, 3, R, R]` in about [-1, 1].
public protocol NetworkRecolorer {
    /// R, the side of the square images the network reads.
    var resolution: Int { get }
    /// How target images become the histograms the network reads (the options it was trained with).
    var histogramOptions: HistogramOptions { get }
    var backend: any Backend { get }
    func recolor(_ images: Tensor, targets: Tensor) throws -> Tensor
}

/// A trained ReHistoGAN generator as a `NetworkRecolorer` (no per-pixel noise: deterministic output).
public struct ReHistoGANRecolorer: NetworkRecolorer {
    public let generator: ReHistoGANGenerator
    public let histogramOptions: HistogramOptions
    public let backend: any Backend
    public var resolution: Int { generator.config.resolution }

    /// Loads the generator of a `recolor-train` checkpoint.
    public init(checkpoint path: String, backend: any Backend) throws {
        generator = try ReHistoGANCheckpoint.loadGenerator(from: path, backend: backend)
        histogramOptions = try ReHistoGANCheckpoint.options(at: path).histogram
        self.backend = backend
    }

    public func recolor(_ images: Tensor, targets: Tensor) throws -> Tensor {
        try Autograd.withoutGrad { try generator(images, histograms: targets) }
    }
}

/// The full recolouring of one image (official `recolor` path): resize the input to R×R (area average), recolour
/// with the network, then bring the result back to the input's size by pyramid swapping, or replace it by the MKL
/// transfer of the input toward it.
public struct Recolorer {
    public let network: any NetworkRecolorer
    public var upsample: RecolorUpsample
    public var postTransfer: RecolorPostTransfer
    /// Pyramid levels (nil: the `PyramidUpsampling` default).
    public var pyramidLevels: Int?

    public init(network: any NetworkRecolorer, upsample: RecolorUpsample = .pyramid, postTransfer: RecolorPostTransfer = .none,
                pyramidLevels: Int? = nil) {
        self.network = network
        self.upsample = upsample
        self.postTransfer = postTransfer
        self.pyramidLevels = pyramidLevels
    }

    /// The smallest side an input may have: 8 px (pyramid swapping needs a few levels).
    public static let minimumSide = 8

    /// The network-resolution copy of `image`, `[1, 3, R, R]` in [-1, 1].
    public func networkInput(_ image: Image) throws -> Tensor {
        let r = network.resolution
        let small = try ImageResize.resized(image, width: r, height: r)
        return try Tensor(small.pixels.map { $0 * 2 - 1 }, shape: [1, 3, r, r], on: network.backend)
    }

    /// Recolours `image` (named `name` in errors) toward `target`: (final image, the network's R×R output).
    public func recolor(_ image: Image, name: String, target: ColorTarget) throws -> (output: Image, network: Image) {
        guard min(image.width, image.height) >= Self.minimumSide else {
            throw RecolorError.imageTooSmall(image: name, size: ImageSize(image), minimum: Self.minimumSide)
        }
        let bins = network.histogramOptions.bins
        guard target.histogram.count == 3 * bins * bins else {
            throw HistoGANError.data("\(target.name): histogram of \(target.histogram.count) values, the network takes [3, \(bins), \(bins)]")
        }
        let r = network.resolution
        let targets = try Tensor(target.histogram, shape: [1, 3, bins, bins], on: network.backend)
        let out = try network.recolor(networkInput(image), targets: targets).array()
        let small = try Image(width: r, height: r, pixels: out.map { min(1, max(0, ($0 + 1) / 2)) })
        if postTransfer == .mkl {
            return (try ColorTransferMKL.transfer(image, toward: small, inputName: name, targetName: "the network's output"), small)
        }
        switch upsample {
        case .pyramid: return (try PyramidUpsampling.upsample(small, original: image, levels: pyramidLevels), small)
        case .none: return (small, small)
        }
    }
}
