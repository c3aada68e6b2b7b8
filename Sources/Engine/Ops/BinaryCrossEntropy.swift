// Binary cross-entropy on logits, in the numerically stable form, composed of elementwise primitives.

extension Tensor {
    /// Binary cross-entropy of `sigmoid(logits)` against `targets` in [0, 1], per element and unreduced:
    ///
    /// 1. `ℓ = −t·log σ(x) − (1 − t)·log(1 − σ(x))`
    /// 2. `  = t·softplus(−x) + (1 − t)·softplus(x) = softplus(x) − t·x` (stable: softplus never overflows)
    ///
    /// `targets` broadcasts against `logits`; gradients flow to both (`∂ℓ/∂x = σ(x) − t`, `∂ℓ/∂t = −x`).
    public static func binaryCrossEntropy(logits x: Tensor, targets t: Tensor) throws -> Tensor {
        try x.map(.softplus) - x * t
    }

    /// Mean binary cross-entropy of `logits` against the constant `target` (1 = real, 0 = fake), as GAN losses use.
    public static func binaryCrossEntropy(logits x: Tensor, target: Float) throws -> Tensor {
        let softplus = try x.map(.softplus)
        return try (target == 0 ? softplus : softplus - x * target).mean()
    }
}
