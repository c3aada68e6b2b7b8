// Matrix products of tensors, over `Backend.gemm`.

extension Tensor {
    /// `op(a) · op(b)` over the last two axes; leading axes are batch axes (b may have none: broadcast).
    /// a `[..., m, k]` (or `[..., k, m]` with `transposeA`), b `[..., k, n]` (or `[..., n, k]`).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else { throw EngineError.shapeMismatch(op: "matmul", detail: "\(a.shape) x \(b.shape)") }
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let ka = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = batchA.reduce(1, *)
        guard ka == kb, batchB.isEmpty || batchB == batchA else {
            throw EngineError.shapeMismatch(op: "matmul", detail: "\(a.shape) x \(b.shape)")
        }
        let out = try Tensor.empty(batchA + [m, n], on: a.backend)
        try a.backend.gemm(GemmShape(m: m, n: n, k: ka, transA: transposeA, transB: transposeB, batch: batch,
                                     strideB: batchB.isEmpty ? 0 : ka * n),
                           a: a.buffer, b: b.buffer, c: out.buffer)
        return out
    }
}
