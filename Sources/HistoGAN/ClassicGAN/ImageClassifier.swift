import Engine
import Foundation

/// The small CNN that judges generated images in `gan evaluate`: conv 3×3 to 32 → ReLU → conv 4×4/2 to 64 →
/// ReLU → conv 4×4/2 to 64 → ReLU → linear to K class logits. Trained once on the real training set (Adam,
/// cross-entropy) and cached; it never sees generated images.
public struct ImageClassifier {
    public let channels: Int, resolution: Int, classes: Int
    let convs: [Conv2dPlain]
    let head: Linear

    public init(channels: Int, resolution: Int, classes: Int, seed: UInt64, on backend: any Backend) throws {
        guard resolution % 4 == 0, classes >= 2 else {
            throw HistoGANError.invalidConfig("classifier: resolution \(resolution) must be a multiple of 4 and classes \(classes) ≥ 2")
        }
        self.channels = channels
        self.resolution = resolution
        self.classes = classes
        var rng = ParameterInitializer(backend: backend, seed: seed)
        // He initialisation: std √(2 / fan-in).
        func he(_ fanIn: Int) -> Float { (2 / Float(fanIn)).squareRoot() }
        convs = [try Conv2dPlain("conv0", in: channels, out: 32, kernel: 3, padding: 1, std: he(channels * 9), init: &rng),
                 try Conv2dPlain("conv1", in: 32, out: 64, kernel: 4, stride: 2, padding: 1, std: he(32 * 16), init: &rng),
                 try Conv2dPlain("conv2", in: 64, out: 64, kernel: 4, stride: 2, padding: 1, std: he(64 * 16), init: &rng)]
        head = try Linear("fc", in: 64 * (resolution / 4) * (resolution / 4), out: classes, init: &rng)
    }

    public var parameters: ParameterCollection {
        var c = ParameterCollection()
        for l in convs { c.append(contentsOf: l.parameters) }
        c.append(contentsOf: head.parameters)
        return c
    }

    /// Class logits `[N, K]` of images `[N, C, R, R]` in [−1, 1].
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        var x = images
        for conv in convs { x = try conv(x).map(.relu) }
        return try head(x.reshaped([images.shape[0], -1]))
    }

    /// Class probabilities `[n][K]` of host images (`[n, C, R, R]` values), in chunks, without gradients.
    public func probabilities(_ values: [Float], on backend: any Backend, chunk: Int = 500) throws -> [[Float]] {
        let size = channels * resolution * resolution, n = values.count / size
        var out: [[Float]] = []
        try Autograd.withoutGrad {
            for lo in stride(from: 0, to: n, by: chunk) {
                let m = min(chunk, n - lo)
                let x = try Tensor(Array(values[(lo * size)..<((lo + m) * size)]), shape: [m, channels, resolution, resolution], on: backend)
                let p = try self(x).logSoftmax().map(.exp).array()
                out += (0..<m).map { Array(p[($0 * classes)..<(($0 + 1) * classes)]) }
            }
        }
        return out
    }

    /// Trains on `dataset` (single-class labels) for `steps` Adam steps (lr 1e-3) of `batch` images, reporting
    /// (step, loss) after each step.
    public func train(on dataset: LabelledDataset, steps: Int, batch: Int, seed: UInt64, backend: any Backend,
                      report: (Int, Float) -> Void) throws {
        let adam = Adam(learningRate: 1e-3, beta1: 0.9, beta2: 0.999)
        let params = parameters
        for step in 0..<steps {
            let indices = dataset.indices(step: step, size: batch, seed: seed ^ 0xC1A5)
            let x = try Tensor(dataset.images(indices), shape: [batch, channels, resolution, resolution], on: backend)
            let y = try Tensor(dataset.conditions(indices), shape: [batch, classes], on: backend)
            let loss = try Tensor.crossEntropy(logits: self(x), targets: y)
            try params.backward(loss)
            try adam.update(params)
            report(step + 1, try loss.item())
        }
    }
}
