import Foundation

/// The classic GANs: the original fully-connected GAN (Goodfellow et al. 2014), DCGAN (Radford et al. 2015),
/// the conditional GAN (Mirza & Osindero 2014, here on DCGAN) and the auxiliary-classifier GAN (Odena et al. 2017).
public enum ClassicGANModel: String, Codable, Sendable, CaseIterable {
    case fc, dcgan, cgan, acgan

    /// Whether G takes a requested class / tag vector (joined to z) and the batch draws labels.
    public var isConditional: Bool { self == .cgan || self == .acgan }
}

/// How labels condition a model: one class per image (one-hot, cross-entropy) or any set of tags (multi-hot,
/// per-tag binary cross-entropy in ACGAN's auxiliary head).
public enum LabelKind: String, Codable, Sendable {
    case classes, tags
}

/// Network shape of a classic GAN (saved in its checkpoint).
public struct ClassicGANConfig: Codable, Sendable, Equatable {
    public var model: ClassicGANModel
    /// Image side R (a multiple of 4: the DCGAN generator starts at R/4) and channels (1 grey, 3 RGB).
    public var resolution: Int
    public var channels: Int
    /// Length of z.
    public var latentDim: Int
    /// Width: G's first feature map has 2·width channels, D's last 2·width; fc uses 8·width hidden units.
    public var width: Int
    /// Number of classes or tags (the conditioning vector's length; 0 for unlabelled data).
    public var labelCount: Int
    public var labelKind: LabelKind
    /// Names of the classes or tags, in index order.
    public var labelNames: [String]

    public init(model: ClassicGANModel, resolution: Int, channels: Int, latentDim: Int = 100, width: Int = 64,
                labelCount: Int, labelKind: LabelKind = .classes, labelNames: [String] = []) {
        self.model = model
        self.resolution = resolution
        self.channels = channels
        self.latentDim = latentDim
        self.width = width
        self.labelCount = labelCount
        self.labelKind = labelKind
        self.labelNames = labelNames
    }

    /// Length of the conditioning vector joined to z and D's features (0 for unconditional models).
    public var conditionDim: Int { model.isConditional ? labelCount : 0 }

    /// Throws `HistoGANError.invalidConfig` naming the bad value.
    public func validate() throws {
        guard resolution >= 8, resolution % 4 == 0 else {
            throw HistoGANError.invalidConfig("resolution \(resolution): the classic GANs need a multiple of 4 that is at least 8")
        }
        guard channels == 1 || channels == 3 else { throw HistoGANError.invalidConfig("channels \(channels): 1 or 3") }
        guard latentDim > 0, width > 0 else { throw HistoGANError.invalidConfig("latent \(latentDim) and width \(width) must be > 0") }
        if model.isConditional && labelCount < 2 {
            throw HistoGANError.invalidConfig("--model \(model.rawValue) needs labelled data with at least 2 classes or tags (got \(labelCount))")
        }
    }
}

/// Everything a classic-GAN training run depends on (saved in its checkpoint and `options.json`).
public struct ClassicGANOptions: Codable, Sendable, Equatable {
    public var network: ClassicGANConfig
    public var batch: Int
    public var steps: Int
    /// Adam (Radford et al.): lr 2e-4, β1 0.5, β2 0.999.
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    /// Weight of ACGAN's auxiliary classification loss (in both D's and G's loss).
    public var auxiliaryWeight: Float
    public var seed: UInt64
    public var logInterval: Int
    public var sampleInterval: Int
    public var checkpointInterval: Int

    public init(network: ClassicGANConfig, batch: Int = 64, steps: Int = 2000, learningRate: Float = 2e-4, beta1: Float = 0.5,
                beta2: Float = 0.999, auxiliaryWeight: Float = 1, seed: UInt64 = 0, logInterval: Int = 20,
                sampleInterval: Int = 250, checkpointInterval: Int = 250) {
        self.network = network
        self.batch = batch
        self.steps = steps
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.auxiliaryWeight = auxiliaryWeight
        self.seed = seed
        self.logInterval = logInterval
        self.sampleInterval = sampleInterval
        self.checkpointInterval = checkpointInterval
    }
}
