// BiasActShape: validation shared by both backends.
//
// Semantics (NVlabs torch_utils/ops/bias_act.py `_bias_act_ref` and the CUDA grad mode 1), element i of
// `[outer, channels, inner]` with c = (i / inner) % channels:
//   forward:  y = act(x + b[c]) · gain, then clamped to [−clamp, clamp] when clamp ≥ 0;
//   backward: dx = dy · act'(y) · gain · [|y| < clamp, or no clamp], act' = 1 for linear and
//             (y > 0 ? 1 : alpha) for leaky ReLU.

extension BiasActShape {
    /// Checks the layout against the bias and buffers; throws `shapeMismatch` naming `op`.
    func validate(_ op: String, hasBias: Bool, buffers: [any Buffer], bias: (any Buffer)? = nil) throws {
        guard count >= 0 else { throw EngineError.shapeMismatch(op: op, detail: "negative count \(count)") }
        if hasBias {
            guard channels > 0, inner > 0, count % (channels * inner) == 0 else {
                throw EngineError.shapeMismatch(op: op, detail: "count \(count) is not a multiple of channels \(channels) × inner \(inner)")
            }
            if let bias, bias.count < channels {
                throw EngineError.shapeMismatch(op: op, detail: "bias holds \(bias.count) floats, need \(channels)")
            }
        }
        for b in buffers where b.count < count {
            throw EngineError.shapeMismatch(op: op, detail: "buffer holds \(b.count) floats, need \(count)")
        }
    }
}
