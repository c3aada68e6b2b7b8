// BiasActShape: validation shared by both backends.
//
// Semantics (NVlabs torch_utils/ops/bias_act.py `_bias_act_ref` and the CUDA grad mode 1, with StyleGAN2's
// `x.add_(noise)` folded in), element i of `[outer, channels, inner]` with n = i / (channels·inner),
// c = (i / inner) % channels, p = i % inner:
//   forward:  y = act((x + noise[n·noiseStride + p]·strength) + b[c]) · gain, then clamped to [−clamp, clamp]
//             when clamp ≥ 0 (the noise term only with `noise`);
//   backward: dx = dy · act'(y) · gain · [|y| < clamp, or no clamp], act' = 1 for linear and
//             (y > 0 ? 1 : alpha) for leaky ReLU.

extension BiasActShape {
    /// Checks the layout against the bias and buffers, and (forward: `noise` given) against the noise
    /// operands; throws `shapeMismatch` naming `op`.
    func validate(_ op: String, hasBias: Bool, buffers: [any Buffer], bias: (any Buffer)? = nil,
                  noise: (map: (any Buffer)?, strength: (any Buffer)?)? = nil) throws {
        guard count >= 0 else { throw EngineError.shapeMismatch(op: op, detail: "negative count \(count)") }
        if hasBias || self.noise != nil {
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
        guard let noise else { return }
        switch (self.noise, noise.map, noise.strength) {
        case (nil, nil, nil):
            break
        case let (layout?, map?, strength?):
            let need = layout == .shared ? inner : count / (channels * inner) * inner
            guard map.count >= need else {
                throw EngineError.shapeMismatch(op: op, detail: "noise holds \(map.count) floats, need \(need) (\(layout))")
            }
            guard strength.count >= 1 else { throw EngineError.shapeMismatch(op: op, detail: "noise strength is empty") }
        default:
            throw EngineError.shapeMismatch(op: op, detail: "noise layout \(self.noise.map { "\($0)" } ?? "none") needs "
                                            + "both a noise map and a strength buffer, or neither")
        }
    }
}
