import Foundation

// Plain (not equalized-lr) layers of the classic GANs: weights stored at their use scale, initialised
// N(0, std²) (DCGAN: std 0.02), biases 0. Each layer's `name` is its profiler scope and checkpoint prefix.

/// `y = x·wᵀ + b`. x `[N, in]` → `[N, out]`, weight `[out, in]`.
public struct Linear {
    public let weight: Parameter
    public let bias: Parameter?

    /// `std` defaults to `1/√in` (the scale of PyTorch's default initialisation).
    public init(_ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true, std: Float? = nil,
                init rng: inout ParameterInitializer) throws {
        weight = Parameter(name: "\(name).weight", value: try rng.normal([outFeatures, inFeatures],
                                                                         scale: std ?? 1 / Float(inFeatures).squareRoot()))
        self.bias = bias ? Parameter(name: "\(name).bias", value: try rng.constant([outFeatures], 0)) : nil
    }

    public var parameters: ParameterCollection { ParameterCollection([weight] + (bias.map { [$0] } ?? [])) }
    public var name: String { String(weight.name.dropLast(".weight".count)) }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Profiler.withScope(name) {
            let y = try Tensor.matmul(x, weight.value, transposeB: true)
            return try bias.map { try y + $0.value } ?? y
        }
    }
}

/// Plain strided convolution `y = conv2d(x, w, stride, padding) + b`. x `[N, I, H, W]`, weight `[O, I, k, k]`.
public struct Conv2dPlain {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int

    public init(_ name: String, in inChannels: Int, out outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, std: Float = 0.02, init rng: inout ParameterInitializer) throws {
        weight = Parameter(name: "\(name).weight", value: try rng.normal([outChannels, inChannels, kernel, kernel], scale: std))
        self.bias = bias ? Parameter(name: "\(name).bias", value: try rng.constant([outChannels], 0)) : nil
        self.stride = stride
        self.padding = padding
    }

    public var parameters: ParameterCollection { ParameterCollection([weight] + (bias.map { [$0] } ?? [])) }
    public var name: String { String(weight.name.dropLast(".weight".count)) }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Profiler.withScope(name) {
            let y = try Tensor.conv2d(x, weight: weight.value, stride: stride, padding: padding)
            return try bias.map { try y.biasAct(bias: $0.value) } ?? y
        }
    }
}

/// Transposed convolution layer (`Tensor.convTranspose2d`, default stride 2, kernel 4, padding 1: H → 2H).
/// x `[N, I, H, W]`, weight `[I, O, k, k]` (PyTorch `ConvTranspose2d` layout).
public struct ConvTranspose2dLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int

    public init(_ name: String, in inChannels: Int, out outChannels: Int, kernel: Int = 4, stride: Int = 2, padding: Int = 1,
                bias: Bool = true, std: Float = 0.02, init rng: inout ParameterInitializer) throws {
        weight = Parameter(name: "\(name).weight", value: try rng.normal([inChannels, outChannels, kernel, kernel], scale: std))
        self.bias = bias ? Parameter(name: "\(name).bias", value: try rng.constant([outChannels], 0)) : nil
        self.stride = stride
        self.padding = padding
    }

    public var parameters: ParameterCollection { ParameterCollection([weight] + (bias.map { [$0] } ?? [])) }
    public var name: String { String(weight.name.dropLast(".weight".count)) }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Profiler.withScope(name) {
            let y = try Tensor.convTranspose2d(x, weight: weight.value, stride: stride, padding: padding)
            return try bias.map { try y.biasAct(bias: $0.value) } ?? y
        }
    }
}

/// Batch normalisation layer over channel axis 1 of `[N, C]` or `[N, C, H, W]`: learned γ (init 1), β (init 0),
/// and running mean / variance (init 0 / 1) updated in training as `r ← (1 − m)·r + m·batch` with momentum m
/// (PyTorch: the running variance uses the unbiased batch variance). The running statistics are `buffers`
/// (saved in checkpoints, never given to the optimizer).
public struct BatchNormLayer {
    public let gamma: Parameter, beta: Parameter
    public let runningMean: Parameter, runningVariance: Parameter
    public let momentum: Float, epsilon: Float

    public init(_ name: String, channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, init rng: inout ParameterInitializer) throws {
        gamma = Parameter(name: "\(name).weight", value: try rng.constant([channels], 1))
        beta = Parameter(name: "\(name).bias", value: try rng.constant([channels], 0))
        runningMean = Parameter(name: "\(name).running_mean", value: try rng.constant([channels], 0))
        runningVariance = Parameter(name: "\(name).running_var", value: try rng.constant([channels], 1))
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public var parameters: ParameterCollection { ParameterCollection([gamma, beta]) }
    public var buffers: ParameterCollection { ParameterCollection([runningMean, runningVariance]) }
    public var name: String { String(gamma.name.dropLast(".weight".count)) }

    /// Normalises with batch statistics (and updates the running ones) when `training`, else with the running ones.
    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        try Profiler.withScope(name) {
            let running = training ? nil : (runningMean.value, runningVariance.value)
            let (y, batch) = try Tensor.batchNorm(x, gamma: gamma.value, beta: beta.value, running: running, epsilon: epsilon)
            if let batch {
                let n = Float(batch.countPerChannel)
                try Autograd.withoutGrad {
                    try runningMean.assign(runningMean.value * (1 - momentum) + batch.mean * momentum)
                    try runningVariance.assign(runningVariance.value * (1 - momentum) + batch.variance * (momentum * n / (n - 1)))
                }
            }
            return y
        }
    }
}
