import Engine
import Foundation

/// Settings of `Projection` (each a `recolor --method projection` flag).
public struct ProjectionOptions: Sendable, Equatable {
    /// Adam steps per image.
    public var steps: Int
    public var learningRate: Float
    /// λ of the regulariser `λ · mean_l mean_i (w_l,i − w̄_i)²` that keeps the per-layer w near the average w.
    public var regularization: Float

    public init(steps: Int = 300, learningRate: Float = 0.05, regularization: Float = 0.01) {
        self.steps = steps
        self.learningRate = learningRate
        self.regularization = regularization
    }

    /// Checks ranges; errors name the flag.
    public func validate() throws {
        guard steps > 0 else { throw HistoGANError.invalidConfig("--steps must be > 0") }
        guard learningRate > 0 else { throw HistoGANError.invalidConfig("--lr must be > 0") }
        guard regularization >= 0 else { throw HistoGANError.invalidConfig("--projection-reg must be >= 0") }
    }
}

/// Recolouring by projection into a trained HistoGAN (official `projection_to_latent.py`, NVlabs `projector.py`):
/// the per-layer w of every layer before the histogram blocks (W+) are optimised with Adam so that
/// G(w, w_hist(H(x))) reproduces the image x (L1 pixel loss + `regularization`), with fixed per-pixel noise;
/// the image is then regenerated with the target's w_hist in the last two blocks. (The official code optimises
/// the per-layer styles after the affine layers and adds a VGG term whose weights are not available offline; W+
/// is the NVlabs projector's space and has as many degrees of freedom at these sizes.)
public final class ProjectionRecolorer: NetworkRecolorer {
    public let sampler: Sampler
    public let options: ProjectionOptions
    /// Called after each Adam step with (step, steps, L1 loss).
    public var progress: ((Int, Int, Double) -> Void)?
    public var resolution: Int { sampler.generator.config.resolution }
    public var histogramOptions: HistogramOptions { sampler.histogramOptions }
    public var backend: any Backend { sampler.backend }
    let noise = NoiseSource(seed: 0, layout: .shared)
    /// The last image projected and its w (recolouring one input toward several targets projects it once).
    private var lastProjection: (pixels: [Float], ws: [Tensor])?

    /// Loads the EMA generator of a HistoGAN checkpoint (a ReHistoGAN one is rejected with a hint).
    public init(checkpoint path: String, backend: any Backend, options: ProjectionOptions = ProjectionOptions()) throws {
        try options.validate()
        if (try? SafeTensors.read(path).metadata["format"]) == ReHistoGANCheckpoint.format {
            throw HistoGANError.checkpoint("\(path): a ReHistoGAN checkpoint; --method projection needs a HistoGAN one (from `train`)")
        }
        sampler = try Sampler(checkpoint: path, backend: backend)
        self.options = options
    }

    /// The per-layer w `[1, latentDim]` (one per layer before the histogram blocks) whose image reproduces
    /// `image` `[1, 3, R, R]` in [-1, 1].
    public func project(_ image: Tensor) throws -> [Tensor] {
        let g = sampler.generator
        let count = g.synthesis.firstHistogramW
        let wAverage = try g.mapping.wAverage.reshaped([1, g.config.latentDim])
        let ws = (0..<count).map { Parameter(name: "w\($0)", value: wAverage) }
        let wHist = try Autograd.withoutGrad {
            try g.histogramEncoder(Tensor.rgbuvHistogram((image + 1) * 0.5, options: sampler.histogramOptions))
        }
        let adam = Adam(learningRate: options.learningRate, beta1: 0.9, beta2: 0.999)
        let collection = ParameterCollection(ws)
        for step in 0..<options.steps {
            let all = ws.map(\.value) + [Tensor](repeating: wHist, count: g.synthesis.numWs - count)
            let output = try g.synthesis(all, noise: noise)
            let pixel = try (output - image).map(.abs).mean()
            var deviation: Tensor?
            for w in ws {
                let d = try (w.value - wAverage).map(.square).mean()
                deviation = try deviation.map { try $0 + d } ?? d
            }
            let loss = try pixel + deviation! * (options.regularization / Float(count))
            try collection.backward(loss)
            try adam.update(collection)
            progress?(step + 1, options.steps, try Double(pixel.item()))
        }
        return ws.map { $0.value.detached() }
    }

    /// Projects each image, then regenerates it with its target's histogram.
    public func recolor(_ images: Tensor, targets: Tensor) throws -> Tensor {
        let g = sampler.generator
        var outputs: [Tensor] = []
        for i in 0..<images.shape[0] {
            let image = try images.sliced(axis: 0, i..<(i + 1))
            let pixels = try image.array()
            let ws = try lastProjection.flatMap { $0.pixels == pixels ? $0.ws : nil } ?? project(image)
            lastProjection = (pixels, ws)
            let out = try Autograd.withoutGrad {
                let wHist = try g.histogramEncoder(targets.sliced(axis: 0, i..<(i + 1)))
                return try g.synthesis(ws + [Tensor](repeating: wHist, count: g.synthesis.numWs - ws.count), noise: noise)
            }
            outputs.append(out)
        }
        return try Tensor.concat(outputs, axis: 0)
    }
}
