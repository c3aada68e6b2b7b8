// Fused optimizer steps of the CPU backend (optimizer.cl on OpenCL). SIMD8 chunks compute exactly the
// scalar tail's Float operations, in the same order.
extension CPUBackend {
    /// `g = grad·gradScale`, `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`,
    /// `p -= lr·(m / bc1) / (sqrt(v / bc2) + eps)` with `bc = 1 - β^step`, in Float like the kernel.
    public func adamStep(_ step: AdamStep, _ slots: [AdamSlot]) throws {
        try step.validate(slots)
        for slot in slots { try adamStep(step, slot) }
    }

    private func adamStep(_ step: AdamStep, _ slot: AdamSlot) throws {
        let count = slot.count
        let pp = try ptr(slot.param, "adamStep"), pg = try ptr(slot.grad, "adamStep")
        let pm = try ptr(slot.m, "adamStep"), pv = try ptr(slot.v, "adamStep")
        let lr = step.learningRate, b1 = step.beta1, b2 = step.beta2, eps = step.epsilon, scale = step.gradScale
        let bc1 = step.biasCorrection1, bc2 = step.biasCorrection2
        parallelFor(count, grain: 1 << 14) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let g = load(pg + i) * scale
                let mi = b1 * load(pm + i) + (1 - b1) * g
                let vi = b2 * load(pv + i) + (1 - b2) * (g * g)
                store(mi, pm + i)
                store(vi, pv + i)
                store(load(pp + i) - lr * (mi / bc1) / ((vi / bc2).squareRoot() + eps), pp + i)
                i += 8
            }
            while i < r.upperBound {
                let g = pg[i] * scale
                let mi = b1 * pm[i] + (1 - b1) * g
                let vi = b2 * pv[i] + (1 - b2) * (g * g)
                pm[i] = mi
                pv[i] = vi
                pp[i] -= lr * (mi / bc1) / ((vi / bc2).squareRoot() + eps)
                i += 1
            }
        }
    }

    /// `ema = param + (ema - param)·beta` for each slot.
    public func emaUpdate(_ slots: [EMASlot], beta: Float) throws {
        try validate(slots)
        for slot in slots { try emaUpdate(slot, beta: beta) }
    }

    private func emaUpdate(_ slot: EMASlot, beta: Float) throws {
        let count = slot.count
        let pe = try ptr(slot.ema, "emaUpdate"), pp = try ptr(slot.param, "emaUpdate")
        parallelFor(count, grain: 1 << 15) { r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let p = load(pp + i)
                store(p + (load(pe + i) - p) * beta, pe + i)
                i += 8
            }
            while i < r.upperBound { pe[i] = pp[i] + (pe[i] - pp[i]) * beta; i += 1 }
        }
    }
}
