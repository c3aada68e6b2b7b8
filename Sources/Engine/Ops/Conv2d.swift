// 2-D convolution of tensors, over `Backend.conv2d*`, with VJPs. The three ops are each other's
// adjoints, so gradients of gradients (R1 penalty) stay inside this closed set; `conv2dBiasAct` adds the
// bias_act epilogue to the forward. Each takes a `weightGain` g and uses the weight g·w (equalized learning rate)
// without forming it. All three are described by the forward's `Conv2dShape` s, and every VJP passes s on: the ops
// are linear in w, so the adjoints use the same g.

extension Tensor {
    /// The `Conv2dShape` of `conv2d(x, weight)`; checks channel and group counts.
    static func conv2dShape(input: [Int], weight: [Int], stride: Int, padding: Int, groups: Int,
                            weightGain: Float = 1) throws -> Conv2dShape {
        guard input.count == 4, weight.count == 4, weight[1] * groups == input[1] else {
            throw EngineError.shapeMismatch(op: "conv2d", detail: "input \(input), weight \(weight), groups \(groups)")
        }
        let s = Conv2dShape(batch: input[0], inChannels: input[1], outChannels: weight[0], height: input[2], width: input[3],
                            kernelH: weight[2], kernelW: weight[3], stride: stride, padH: padding, padW: padding, groups: groups,
                            weightGain: weightGain)
        try s.validate("conv2d")
        return s
    }

    /// `y[n,o] = Σ_{c,ky,kx} γ·w[o,c,ky,kx]·x[n, g·C/G + c, s·i + ky − p, s·j + kx − p]` (cross-correlation, γ =
    /// `weightGain`). x `[N, C, H, W]`, weight `[O, C/groups, kh, kw]` → `[N, O, outH, outW]`.
    public static func conv2d(_ x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                              weightGain: Float = 1) throws -> Tensor {
        try conv2d(x, weight: weight, try conv2dShape(input: x.shape, weight: weight.shape, stride: stride, padding: padding,
                                                      groups: groups, weightGain: weightGain))
    }

    /// `conv2d(x, weight, weightGain:).biasAct(bias:, activation:, alpha:, gain:, clamp:)` as one op: on OpenCL one launch
    /// that applies the bias and activation in the conv kernel's store (the same bits as the two ops). Gradients as the
    /// two ops': dpre = `biasActGradient(g, y)`, then the convolution's VJP of dpre and Σ dpre for the bias.
    public static func conv2dBiasAct(_ x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                                     weightGain: Float = 1, bias: Tensor? = nil, activation: Activation = .linear,
                                     alpha: Float = 0.2, gain: Float? = nil, clamp: Float? = nil) throws -> Tensor {
        let s = try conv2dShape(input: x.shape, weight: weight.shape, stride: stride, padding: padding, groups: groups,
                                weightGain: weightGain)
        if let bias, bias.shape != [s.outChannels] {
            throw EngineError.shapeMismatch(op: "conv2dBiasAct", detail: "bias \(bias.shape) for \(s.outChannels) output channels")
        }
        let act = BiasActShape(count: s.outputCount, channels: s.outChannels, inner: s.outHeight * s.outWidth,
                               activation: activation, alpha: alpha, gain: gain, clamp: clamp)
        let out = try Tensor.empty([s.batch, s.outChannels, s.outHeight, s.outWidth], on: x.backend)
        try Profiler.measure("conv2dBiasAct", x.backend) {
            try x.backend.conv2dBiasAct(s, input: x.buffer, weight: weight.buffer, bias: bias?.buffer, act: act, output: out.buffer)
        }
        return out.recorded("conv2dBiasAct", [x, weight] + (bias.map { [$0] } ?? [])) { g in
            let (dpre, db) = try biasActGradients(g, output: out, shape: act, bias: bias, needsBias: Autograd.needsGradient(2))
            return [Autograd.needsGradient(0) ? try conv2dGradInput(dpre, weight: weight, s) : nil,
                    Autograd.needsGradient(1) ? try conv2dGradWeight(x, gradOutput: dpre, s) : nil]
                + (bias == nil ? [] : [db])
        }
    }

    /// Gradient of `conv2d` w.r.t. its input of shape `inputShape` (the transposed convolution of `dy` with γ·w).
    public static func conv2dGradInput(_ dy: Tensor, weight: Tensor, inputShape: [Int], stride: Int = 1,
                                       padding: Int = 0, groups: Int = 1, weightGain: Float = 1) throws -> Tensor {
        try conv2dGradInput(dy, weight: weight, try conv2dShape(input: inputShape, weight: weight.shape, stride: stride,
                                                                padding: padding, groups: groups, weightGain: weightGain))
    }

    /// Gradient of `conv2d` (with `weightGain` γ) w.r.t. its weight of shape `weightShape`: γ·corr(x, dy).
    public static func conv2dGradWeight(_ x: Tensor, gradOutput dy: Tensor, weightShape: [Int], stride: Int = 1,
                                        padding: Int = 0, groups: Int = 1, weightGain: Float = 1) throws -> Tensor {
        try conv2dGradWeight(x, gradOutput: dy, try conv2dShape(input: x.shape, weight: weightShape, stride: stride,
                                                                padding: padding, groups: groups, weightGain: weightGain))
    }

    // MARK: - The three ops by the forward's shape

    /// `conv2d` of the checked shape `s`.
    static func conv2d(_ x: Tensor, weight: Tensor, _ s: Conv2dShape) throws -> Tensor {
        let out = try Tensor.empty([s.batch, s.outChannels, s.outHeight, s.outWidth], on: x.backend)
        try Profiler.measure("conv2d", x.backend) { try x.backend.conv2d(s, input: x.buffer, weight: weight.buffer, output: out.buffer) }
        return out.recorded("conv2d", [x, weight]) { g in
            [Autograd.needsGradient(0) ? try conv2dGradInput(g, weight: weight, s) : nil,
             Autograd.needsGradient(1) ? try conv2dGradWeight(x, gradOutput: g, s) : nil]
        }
    }

    /// `conv2dGradInput` of the forward shape `s` (dx has s's input shape).
    static func conv2dGradInput(_ dy: Tensor, weight: Tensor, _ s: Conv2dShape) throws -> Tensor {
        guard dy.shape == [s.batch, s.outChannels, s.outHeight, s.outWidth] else {
            throw EngineError.shapeMismatch(op: "conv2dGradInput", detail: "dy \(dy.shape) for \(s)")
        }
        let out = try Tensor.empty([s.batch, s.inChannels, s.height, s.width], on: dy.backend)
        try Profiler.measure("conv2dGradInput", dy.backend) {
            try dy.backend.conv2dGradInput(s, gradOutput: dy.buffer, weight: weight.buffer, gradInput: out.buffer)
        }
        return out.recorded("conv2dGradInput", [dy, weight]) { g in
            [Autograd.needsGradient(0) ? try conv2d(g, weight: weight, s) : nil,
             Autograd.needsGradient(1) ? try conv2dGradWeight(g, gradOutput: dy, s) : nil]
        }
    }

    /// `conv2dGradWeight` of the forward shape `s` (dw has s's weight shape).
    static func conv2dGradWeight(_ x: Tensor, gradOutput dy: Tensor, _ s: Conv2dShape) throws -> Tensor {
        guard dy.shape == [s.batch, s.outChannels, s.outHeight, s.outWidth] else {
            throw EngineError.shapeMismatch(op: "conv2dGradWeight", detail: "dy \(dy.shape) for \(s)")
        }
        let out = try Tensor.empty([s.outChannels, s.inChannels / s.groups, s.kernelH, s.kernelW], on: x.backend)
        try Profiler.measure("conv2dGradWeight", x.backend) {
            try x.backend.conv2dGradWeight(s, input: x.buffer, gradOutput: dy.buffer, gradWeight: out.buffer)
        }
        return out.recorded("conv2dGradWeight", [x, dy]) { g in
            [Autograd.needsGradient(0) ? try conv2dGradInput(dy, weight: g, s) : nil,
             Autograd.needsGradient(1) ? try conv2d(x, weight: g, s) : nil]
        }
    }
}
