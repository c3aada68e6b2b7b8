// Fused bias + activation + gain + clamp (NVlabs torch_utils/ops/bias_act), over `Backend.biasAct*`, with VJPs.

extension Tensor {
    /// `y = clamp(act(x + b[c])·gain, ±clamp)` with `b` broadcast along axis `channelAxis` (default 1, NCHW).
    public func biasAct(bias: Tensor? = nil, activation: Activation = .linear, alpha: Float = 0.2, gain: Float? = nil,
                        clamp: Float? = nil, channelAxis: Int = 1) throws -> Tensor {
        let channels = rank > channelAxis ? shape[channelAxis] : 1
        if let bias, bias.count != channels {
            throw EngineError.shapeMismatch(op: "biasAct", detail: "bias \(bias.shape) for \(shape) channel axis \(channelAxis)")
        }
        let inner = shape.dropFirst(channelAxis + 1).reduce(1, *)
        let s = BiasActShape(count: count, channels: channels, inner: inner, activation: activation, alpha: alpha,
                             gain: gain, clamp: clamp)
        let y = try Tensor.empty(shape, on: backend)
        try Profiler.measure("biasAct", backend) { try backend.biasAct(s, x: buffer, bias: bias?.buffer, y: y.buffer) }
        let inputs = [self] + (bias.map { [$0] } ?? [])
        return y.recorded("biasAct", inputs) { g in
            let dx = try Tensor.biasActGradient(g, output: y, shape: s)
            guard let bias, Autograd.needsGradient(1) else { return [dx] }
            let axes = (0..<dx.rank).filter { $0 != channelAxis }
            return [dx, try dx.sum(axes: axes).reshaped(bias.shape)]
        }
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
