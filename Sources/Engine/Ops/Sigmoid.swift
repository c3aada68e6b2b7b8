// Sigmoid and tanh, composed of the elementwise primitives (softplus, exp, scale, addScalar) so that they
// run on every backend's existing kernels and their VJPs (and VJPs of VJPs) come from those ops.

extension Tensor {
    /// `σ(x) = 1 / (1 + e^−x)`, computed as `exp(−softplus(−x))`: finite for every float x (no `e^−x`
    /// overflow for very negative x, since softplus is evaluated stably).
    public func sigmoid() throws -> Tensor {
        try map(.neg).map(.softplus).map(.neg).map(.exp)
    }

    /// `tanh(x) = 2·σ(2x) − 1`.
    public func tanh() throws -> Tensor {
        try (self * 2).sigmoid() * 2 + -1
    }
}
