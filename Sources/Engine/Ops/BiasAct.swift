// Fused bias + activation + gain + clamp (NVlabs torch_utils/ops/bias_act), over `Backend.biasAct`.

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
        let out = try Tensor.empty(shape, on: backend)
        try backend.biasAct(s, x: buffer, bias: bias?.buffer, y: out.buffer)
        return out
    }
}
