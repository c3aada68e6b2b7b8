// Sigmoid and tanh: fused unary kernels (`UnaryOp.sigmoid`, `.tanh` in elementwise.cl / ElementwiseKernels.swift)
// with VJPs `g·σ(1 − σ)` and `g·(1 − tanh²)`, and references composed of other primitives (tests compare both).

extension Tensor {
    /// `σ(x) = 1 / (1 + e^−x)` (one kernel; finite for every float x).
    public func sigmoid() throws -> Tensor { try map(.sigmoid) }

    /// `tanh(x)` (one kernel).
    public func tanh() throws -> Tensor { try map(.tanh) }

    /// Reference for `sigmoid` from other primitives: `exp(−softplus(−x))`.
    public func sigmoidReference() throws -> Tensor {
        try map(.neg).map(.softplus).map(.neg).map(.exp)
    }

    /// Reference for `tanh` from other primitives: `2·σ(2x) − 1` with the reference σ.
    public func tanhReference() throws -> Tensor {
        try (self * 2).sigmoidReference() * 2 + -1
    }
}
