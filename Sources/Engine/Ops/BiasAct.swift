// Fused noise + bias + activation + gain + clamp (NVlabs torch_utils/ops/bias_act, StyleGAN2 noise), over
// `Backend.biasAct*`, with VJPs.

extension Tensor {
    /// `y = clamp(act(x + noise·strength + b[c])·gain, ±clamp)` with `b` broadcast along axis `channelAxis` (default
    /// 1, NCHW) and StyleGAN2's per-pixel `noise` (optional) broadcast over the channels: the shape of x with the
    /// channel axis 1 (a plane per sample) or also the axes before it 1 (one plane for every sample), times the
    /// learned scalar `noiseStrength` `[1]`. One kernel for what a synthesis layer does after its convolution.
    /// Gradients flow to x, bias and noiseStrength; the noise is a constant.
    public func biasAct(bias: Tensor? = nil, activation: Activation = .linear, alpha: Float = 0.2, gain: Float? = nil,
                        clamp: Float? = nil, channelAxis: Int = 1, noise: Tensor? = nil, noiseStrength: Tensor? = nil) throws -> Tensor {
        let channels = rank > channelAxis ? shape[channelAxis] : 1
        if let bias, bias.count != channels {
            throw EngineError.shapeMismatch(op: "biasAct", detail: "bias \(bias.shape) for \(shape) channel axis \(channelAxis)")
        }
        let inner = shape.dropFirst(channelAxis + 1).reduce(1, *)
        let layout = try noiseLayout(noise, strength: noiseStrength, channelAxis: channelAxis)
        let s = BiasActShape(count: count, channels: channels, inner: inner, activation: activation, alpha: alpha,
                             gain: gain, clamp: clamp, noise: layout)
        let y = try Tensor.empty(shape, on: backend)
        try Profiler.measure("biasAct", backend) {
            try backend.biasAct(s, x: buffer, bias: bias?.buffer, noise: noise?.buffer, noiseStrength: noiseStrength?.buffer,
                                y: y.buffer)
        }
        let noisy = layout == nil ? nil : noise.map { $0.detached() }
        let inputs = [self] + (bias.map { [$0] } ?? []) + (layout == nil ? [] : noiseStrength.map { [$0] } ?? [])
        return y.recorded("biasAct", inputs) { g in
            let (dx, db) = try Tensor.biasActGradients(g, output: y, shape: s, bias: bias, needsBias: Autograd.needsGradient(1))
            var grads: [Tensor?] = [dx]
            if bias != nil { grads.append(db) }
            if let noisy, let noiseStrength {
                // Σ over the channels first (one pass over dx), then the noise-plane-sized product and sum: less traffic
                // than multiplying all of dx, and the order of the separate ops this replaced (the same bits).
                grads.append(Autograd.needsGradient(grads.count)
                             ? try (dx.sum(axes: [channelAxis], keepDims: true) * noisy).sum(axes: Array(0..<dx.rank), keepDims: true)
                                 .reshaped(noiseStrength.shape)
                             : nil)
            }
            return grads
        }
    }

    /// The `BiasActNoise` layout of `noise` for x = self (nil without noise); throws unless noise and strength come
    /// together, the strength is one value and the noise is x's shape with the channel axis (and, shared, the axes
    /// before it) 1.
    private func noiseLayout(_ noise: Tensor?, strength: Tensor?, channelAxis: Int) throws -> BiasActNoise? {
        guard let noise else {
            if strength != nil { throw EngineError.shapeMismatch(op: "biasAct", detail: "noiseStrength without noise") }
            return nil
        }
        guard let strength, strength.count == 1 else {
            throw EngineError.shapeMismatch(op: "biasAct", detail: "noise needs a one-value noiseStrength, got \(strength?.shape.description ?? "none")")
        }
        if noise.requiresGrad {
            throw EngineError.shapeMismatch(op: "biasAct", detail: "noise is a constant here; it must not require a gradient")
        }
        guard channelAxis < rank else {
            throw EngineError.shapeMismatch(op: "biasAct", detail: "noise needs a channel axis \(channelAxis) in \(shape)")
        }
        var perSample = shape
        perSample[channelAxis] = 1
        if noise.shape == perSample { return .perSample }
        var shared = perSample
        for a in 0..<channelAxis { shared[a] = 1 }
        if noise.shape == shared { return .shared }
        throw EngineError.shapeMismatch(op: "biasAct", detail: "noise \(noise.shape) for x \(shape): want \(perSample) or \(shared)")
    }

    /// The VJP of a bias_act with `bias`: dx = `biasActGradient(dy, y)` and, when `needsBias`, the bias's gradient
    /// Σ dx over every axis but the channels, shaped as the bias. Outside a recorded backward (no double backward to
    /// build) both come from one `Backend.biasActGradSum` (on OpenCL one pass that writes dx as it sums); while
    /// recording, from the differentiable ops.
    static func biasActGradients(_ dy: Tensor, output y: Tensor, shape s: BiasActShape, bias: Tensor?,
                                 needsBias: Bool) throws -> (dx: Tensor, db: Tensor?) {
        guard let bias, needsBias else { return (try biasActGradient(dy, output: y, shape: s), nil) }
        if Autograd.isRecording {
            let dx = try biasActGradient(dy, output: y, shape: s)
            return (dx, try dx.reshaped(s.reductionShape).sum(axes: [0, 2]).reshaped(bias.shape))
        }
        guard dy.shape == y.shape else {
            throw EngineError.shapeMismatch(op: "biasActGradient", detail: "dy \(dy.shape) vs y \(y.shape)")
        }
        let dx = try Tensor.empty(dy.shape, on: dy.backend), db = try Tensor.empty(bias.shape, on: dy.backend)
        try Profiler.measure("biasActGradSum", dy.backend) {
            try dy.backend.biasActGradSum(s, gradY: dy.buffer, y: y.buffer, gradX: dx.buffer, gradBias: db.buffer)
        }
        return (dx, db)
    }

    /// `dx = dy·act'·gain·[|y| < clamp]` for the `biasAct` output `y`. Linear in `dy` (its VJP w.r.t. `dy` is
    /// itself); the activations are piecewise linear, so no gradient flows to `y` (second derivative 0).
    public static func biasActGradient(_ dy: Tensor, output y: Tensor, shape s: BiasActShape) throws -> Tensor {
        guard dy.shape == y.shape else {
            throw EngineError.shapeMismatch(op: "biasActGradient", detail: "dy \(dy.shape) vs y \(y.shape)")
        }
        let dx = try Tensor.empty(dy.shape, on: dy.backend)
        try Profiler.measure("biasActGrad", dy.backend) { try dy.backend.biasActGrad(s, gradY: dy.buffer, y: y.buffer, gradX: dx.buffer) }
        let yPlain = y.detached()
        return dx.recorded("biasActGradient", [dy]) { g in [try biasActGradient(g, output: yPlain, shape: s)] }
    }
}
