import Engine
import Foundation

/// One logged training step of a classic GAN.
public struct ClassicStepStats: Codable, Sendable {
    public var step: Int
    /// D's loss: BCE(D(real), 1) + BCE(D(fake), 0) (+ weight·auxiliary loss on real and fake, acgan).
    public var discriminatorLoss: Float
    /// G's loss: BCE(D(fake), 1) (non-saturating, as the papers; + weight·auxiliary loss on fake, acgan).
    public var generatorLoss: Float
    /// Mean σ(D(real)) and σ(D(fake)) of the D step.
    public var realScore: Float
    public var fakeScore: Float
    /// ACGAN: auxiliary loss on real images (nil otherwise).
    public var auxiliaryLoss: Float?
    public var seconds: Double
    public var imagesPerSecond: Double
}

/// Alternating D and G Adam steps of a classic GAN (Goodfellow et al.'s algorithm with the non-saturating G
/// loss). All randomness of step t (batch indices, z, fake labels) is keyed by (seed, t), so `resume` is exact.
public final class ClassicTrainer {
    public let options: ClassicGANOptions
    public let backend: any Backend
    public let generator: ClassicGenerator
    public let discriminator: ClassicDiscriminator
    public let adamG: Adam, adamD: Adam
    /// Steps completed.
    public var step = 0

    public init(options: ClassicGANOptions, backend: any Backend) throws {
        guard options.batch > 1 else { throw HistoGANError.invalidConfig("--batch \(options.batch): batch norm needs at least 2") }
        self.options = options
        self.backend = backend
        generator = try ClassicGenerator(config: options.network, seed: options.seed &+ 1, on: backend)
        discriminator = try ClassicDiscriminator(config: options.network, seed: options.seed &+ 2, on: backend)
        adamG = Adam(learningRate: options.learningRate, beta1: options.beta1, beta2: options.beta2)
        adamD = Adam(learningRate: options.learningRate, beta1: options.beta1, beta2: options.beta2)
    }

    /// z `[n, latent]` of step `step`: Philox N(0, 1) keyed by (seed, step).
    func latents(step: Int, count: Int) throws -> Tensor {
        try Tensor.random([count, options.network.latentDim], .normal, seed: options.seed ^ 0x5EED_0000_0000 &+ UInt64(step) &* 0x9E37_79B9,
                          on: backend)
    }

    /// One D step and one G step on `dataset`'s batch of step `step`.
    public func trainStep(dataset: LabelledDataset) throws -> ClassicStepStats {
        let start = Date()
        let o = options, n = o.batch, k = o.network.labelCount, r = o.network.resolution, c = o.network.channels
        let conditional = o.network.model.isConditional
        let realIndices = dataset.indices(step: step, size: n, seed: o.seed)
        let real = try Tensor(dataset.images(realIndices), shape: [n, c, r, r], on: backend)
        let realCondition = conditional ? try Tensor(dataset.conditions(realIndices), shape: [n, k], on: backend) : nil
        // Fake labels: those of another random draw of the data (uniform over classes for a balanced set).
        let fakeIndices = dataset.indices(step: step, size: n, seed: o.seed ^ 0xFA4E)
        let fakeCondition = conditional ? try Tensor(dataset.conditions(fakeIndices), shape: [n, k], on: backend) : nil

        let fake = try generator(z: latents(step: step, count: n), condition: fakeCondition, training: true)

        // D: real → 1, fake → 0.
        let (realLogits, realClass) = try discriminator(real, condition: realCondition, training: true)
        let (fakeLogitsD, fakeClassD) = try discriminator(fake.detached(), condition: fakeCondition, training: true)
        var lossD = try Tensor.binaryCrossEntropy(logits: realLogits, target: 1) + Tensor.binaryCrossEntropy(logits: fakeLogitsD, target: 0)
        var auxiliary: Float?
        if let realClass, let fakeClassD, let realCondition, let fakeCondition {
            let auxReal = try auxiliaryLoss(realClass, realCondition)
            auxiliary = try auxReal.item()
            lossD = try lossD + (auxReal + auxiliaryLoss(fakeClassD, fakeCondition)) * o.auxiliaryWeight
        }
        try discriminator.parameters.backward(lossD)
        try adamD.update(discriminator.parameters)

        // G: fake → 1 (non-saturating).
        let (fakeLogits, fakeClass) = try discriminator(fake, condition: fakeCondition, training: true)
        var lossG = try Tensor.binaryCrossEntropy(logits: fakeLogits, target: 1)
        if let fakeClass, let fakeCondition { lossG = try lossG + auxiliaryLoss(fakeClass, fakeCondition) * o.auxiliaryWeight }
        try generator.parameters.backward(lossG)
        try adamG.update(generator.parameters)
        discriminator.parameters.zeroGrad()

        step += 1
        let (dl, gl) = (try lossD.item(), try lossG.item())
        guard dl.isFinite, gl.isFinite else {
            throw HistoGANError.nonFinite("step \(step): non-finite loss (D \(dl), G \(gl)); the last checkpoint is intact")
        }
        let seconds = Date().timeIntervalSince(start)
        return ClassicStepStats(step: step, discriminatorLoss: dl, generatorLoss: gl,
                                realScore: try realLogits.sigmoid().mean().item(), fakeScore: try fakeLogitsD.sigmoid().mean().item(),
                                auxiliaryLoss: auxiliary, seconds: seconds, imagesPerSecond: Double(n) / max(seconds, 1e-9))
    }

    /// ACGAN's auxiliary loss: cross-entropy against one-hot classes, or mean per-tag BCE against multi-hot tags.
    func auxiliaryLoss(_ logits: Tensor, _ targets: Tensor) throws -> Tensor {
        options.network.labelKind == .classes ? try Tensor.crossEntropy(logits: logits, targets: targets)
                                              : try Tensor.binaryCrossEntropy(logits: logits, targets: targets).mean()
    }
}
