import Foundation

/// Equalized-learning-rate layers (StyleGAN2 / NVlabs networks.py): weights are stored N(0, 1)/lrMultiplier
/// and multiplied by `lrMultiplier / sqrt(fanIn)` at use, so Adam sees every layer at the same scale.

/// Seeds parameter initialisation: each parameter gets its own Philox stream (seed, index).
public struct ParameterInitializer {
    public let backend: any Backend
    public let seed: UInt64
    private var next: UInt64 = 0

    public init(backend: any Backend, seed: UInt64) {
        self.backend = backend
        self.seed = seed
    }

    /// N(0, 1)·scale of `shape`.
    public mutating func normal(_ shape: [Int], scale: Float = 1) throws -> Tensor {
        next += 1
        let t = try Tensor.random(shape, .normal, seed: seed &+ next &* 0x9E3779B97F4A7C15, on: backend)
        return scale == 1 ? t : try Autograd.withoutGrad { try t * scale }
    }

    public func constant(_ shape: [Int], _ value: Float) throws -> Tensor {
        try Tensor.full(shape, value: value, on: backend)
    }
}

/// `y = act(x·(w·g)ᵀ + b·lrMul)·gain`, g = lrMul/√inFeatures (`gain` defaults to the activation's, √2 for leaky ReLU,
/// times the caller's). x `[N, in]` → `[N, out]`.
public struct FullyConnected {
    public let weight: Parameter
    public let bias: Parameter?
    public let activation: Activation
    public let lrMultiplier: Float
    public let inFeatures: Int

    public init(_ name: String, in inFeatures: Int, out outFeatures: Int, activation: Activation = .linear,
                bias: Bool = true, biasInit: Float = 0, lrMultiplier: Float = 1, init rng: inout ParameterInitializer) throws {
        guard lrMultiplier > 0 else {
            throw EngineError.shapeMismatch(op: "FullyConnected \(name)", detail: "lr multiplier \(lrMultiplier) must be > 0")
        }
        weight = Parameter(name: "\(name).weight", value: try rng.normal([outFeatures, inFeatures], scale: 1 / lrMultiplier))
        self.bias = bias ? Parameter(name: "\(name).bias", value: try rng.constant([outFeatures], biasInit)) : nil
        self.activation = activation
        self.lrMultiplier = lrMultiplier
        self.inFeatures = inFeatures
    }

    public var parameters: ParameterCollection { ParameterCollection([weight] + (bias.map { [$0] } ?? [])) }

    /// Profiler scope: the layer's name.
    public var name: String { String(weight.name.dropLast(".weight".count)) }

    /// `gain` multiplies the output in the bias_act store (toRGB's style gain: no pass of its own).
    public func callAsFunction(_ x: Tensor, gain: Float = 1) throws -> Tensor {
        try Profiler.withScope(name) { try forward(x, gain: gain) }
    }

    func forward(_ x: Tensor, gain: Float = 1) throws -> Tensor {
        // x·(w·g)ᵀ = g·(x·wᵀ): the equalized-lr gain is the GEMM's alpha (no pass over the weight or the output).
        let g = lrMultiplier / Float(inFeatures).squareRoot()
        guard let bias else {
            let y = try Tensor.matmul(x, weight.value, transposeB: true, alpha: g)
            return activation == .linear && gain == 1 ? y : try y.biasAct(activation: activation, gain: activation.defaultGain * gain)
        }
        // Both activations are positively homogeneous, so with m = lrMultiplier > 0
        //   act(x·wᵀ·g + b·m)·gain = act(x·wᵀ·(g/m) + b)·(gain·m):
        // the bias's multiplier moves into the GEMM's alpha and the bias_act gain (no pass over b or its gradient).
        let m = lrMultiplier
        let y = try Tensor.matmul(x, weight.value, transposeB: true, alpha: g / m)
        return try y.biasAct(bias: bias.value, activation: activation, gain: activation.defaultGain * gain * m)
    }
}

/// Equalized-lr 2-D convolution with bias and activation; optional 2x FIR down-sampling before a
/// stride-2 conv (NVlabs conv2d_resample, down = 2). x `[N, I, H, W]` → `[N, O, H', W']`.
public struct Conv2dLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let activation: Activation
    public let down: Int
    public let filter: Tensor?
    public let clamp: Float?
    let kernel: Int, inChannels: Int

    public init(_ name: String, in inChannels: Int, out outChannels: Int, kernel: Int, bias: Bool = true,
                activation: Activation = .linear, down: Int = 1, clamp: Float? = nil, init rng: inout ParameterInitializer) throws {
        weight = Parameter(name: "\(name).weight", value: try rng.normal([outChannels, inChannels, kernel, kernel]))
        self.bias = bias ? Parameter(name: "\(name).bias", value: try rng.constant([outChannels], 0)) : nil
        self.activation = activation
        self.down = down
        self.clamp = clamp
        self.kernel = kernel
        self.inChannels = inChannels
        filter = down > 1 ? try Tensor.firFilter([1, 3, 3, 1], on: rng.backend) : nil
    }

    public var parameters: ParameterCollection { ParameterCollection([weight] + (bias.map { [$0] } ?? [])) }

    /// Profiler scope: the layer's name.
    public var name: String { String(weight.name.dropLast(".weight".count)) }

    public func callAsFunction(_ x: Tensor, gain: Float = 1) throws -> Tensor {
        try Profiler.withScope(name) { try forward(x, gain: gain) }
    }

    func forward(_ x: Tensor, gain: Float) throws -> Tensor {
        // The equalized-lr gain rides in the conv kernels' stores (`weightGain`): no pass over the weight or its gradient.
        let weightGain = 1 / Float(inChannels * kernel * kernel).squareRoot()
        var input = x, stride = 1, padding = kernel / 2
        if down > 1, let filter {
            // NVlabs conv2d_resample fast path: blur with pad k/2 + ((f − down + 1)/2, (f − down)/2), then a
            // stride-`down` conv without padding; the output is exactly H/down.
            let p = (filter.shape[0] - down) + (kernel - 1)
            let pad = ((p + 1) / 2, p / 2, (p + 1) / 2, p / 2)
            if kernel == 1 {
                // Its 1x1 fast path: a stride-`down` 1x1 conv reads only every `down`-th blurred pixel, so the FIR
                // down-samples (computing just those, 1/down² of the blur) and the conv runs at stride 1.
                input = try Tensor.upfirdn2d(x, filter: filter, down: down, padding: pad)
            } else {
                input = try Tensor.upfirdn2d(x, filter: filter, padding: pad)
                (stride, padding) = (down, 0)
            }
        }
        if bias == nil && activation == .linear && clamp == nil {
            // A linear layer's gain is a weight gain too (the discriminator's skips: √½).
            return try Tensor.conv2d(input, weight: weight.value, stride: stride, padding: padding, weightGain: weightGain * gain)
        }
        // Bias, activation, gain and clamp in the convolution's store (one launch on OpenCL).
        return try Tensor.conv2dBiasAct(input, weight: weight.value, stride: stride, padding: padding, weightGain: weightGain,
                                        bias: bias?.value, activation: activation, gain: activation.defaultGain * gain,
                                        clamp: clamp.map { $0 * gain })
    }
}

/// StyleGAN2 modulated convolution layer: styles = affine(w) (bias init 1), weight modulated per sample
/// and (optionally) demodulated; optional 2x up-sampling by FIR [1,3,3,1] before the convolution.
/// x `[N, I, H, W]`, w `[N, wDim]` → `[N, O, H·up, W·up]` (before noise, bias and activation).
public struct ModulatedConv2d {
    public let affine: FullyConnected
    public let weight: Parameter
    public let demodulate: Bool
    public let up: Int
    /// With `up` = 2: NVlabs' transposed convolution + FIR (`Tensor.modulatedConv2dUp2`) instead of FIR
    /// up-sampling followed by a 3x3 convolution at 2x.
    public let transposedUp: Bool
    /// Fused (per-sample weights, grouped conv) or split (scaled activations, shared weight) modconv.
    public let mode: ModconvMode
    let filter: Tensor?
    let kernel: Int, inChannels: Int

    public init(_ name: String, in inChannels: Int, out outChannels: Int, kernel: Int, wDim: Int, demodulate: Bool = true,
                up: Int = 1, transposedUp: Bool = true, mode: ModconvMode = .fused, init rng: inout ParameterInitializer) throws {
        affine = try FullyConnected("\(name).affine", in: wDim, out: inChannels, biasInit: 1, init: &rng)
        weight = Parameter(name: "\(name).weight", value: try rng.normal([outChannels, inChannels, kernel, kernel]))
        self.demodulate = demodulate
        self.up = up
        self.transposedUp = transposedUp
        self.mode = mode
        self.kernel = kernel
        self.inChannels = inChannels
        filter = up > 1 ? try Tensor.firFilter([1, 3, 3, 1], on: rng.backend) : nil
    }

    public var parameters: ParameterCollection {
        var c = affine.parameters
        c.append(weight)
        return c
    }

    /// `styleGain` multiplies the styles (toRGB uses 1/√(I·k²) without demodulation, as NVlabs).
    /// Profiler scope: the layer's name.
    public var name: String { String(weight.name.dropLast(".weight".count)) }

    public func callAsFunction(_ x: Tensor, w: Tensor, styleGain: Float = 1) throws -> Tensor {
        let styles = try affine(w, gain: styleGain)
        return try Profiler.withScope(name) { try forward(x, styles: styles) }
    }

    /// The convolution for `styles` = affine(w)·styleGain.
    func forward(_ x: Tensor, styles: Tensor) throws -> Tensor {
        var input = x
        if up == 2, transposedUp, let filter {
            return try Tensor.modulatedConv2dUp2(x, weight: weight.value, styles: styles, filter: filter, demodulate: demodulate,
                                                 mode: mode)
        }
        if up > 1, let filter {
            // NVlabs upsample2d: pad ((f + up − 1)/2, (f − up)/2) so the output is exactly H·up.
            let f = filter.shape[0]
            let (p0, p1) = ((f + up - 1) / 2, (f - up) / 2)
            input = try Tensor.upfirdn2d(x, filter: filter, up: up, padding: (p0, p1, p0, p1), gain: Float(up * up))
        }
        return try Tensor.modulatedConv2d(input, weight: weight.value, styles: styles, demodulate: demodulate, mode: mode)
    }
}
