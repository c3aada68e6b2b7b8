// Matrix products of tensors, over `Backend.gemm`.

extension Tensor {
    /// `alpha · op(a) · op(b)` over the last two axes; leading axes are batch axes (b may have none: broadcast).
    /// a `[..., m, k]` (or `[..., k, m]` with `transposeA`), b `[..., k, n]` (or `[..., n, k]`). `alpha` is applied
    /// inside the GEMM (no extra pass), forward and backward.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                              alpha: Float = 1) throws -> Tensor {
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
        let shape = GemmShape(m: m, n: n, k: ka, transA: transposeA, transB: transposeB, batch: batch,
                              strideB: batchB.isEmpty ? 0 : ka * n, alpha: alpha)
        try Profiler.measure("gemm", a.backend) { try a.backend.gemm(shape, a: a.buffer, b: b.buffer, c: out.buffer) }
        let broadcastB = batchB.isEmpty && !batchA.isEmpty
        return out.recorded("matmul", [a, b]) { g in
            // C = α·op(A)·op(B):  d op(A) = α·dC·op(B)ᵀ,  d op(B) = α·op(A)ᵀ·dC  (per batch item).
            var da: Tensor?
            if Autograd.needsGradient(0) {
                let bb = broadcastB && transposeA ? try b.expanded(to: batchA + b.shape) : b
                da = transposeA ? try matmul(bb, g, transposeA: transposeB, transposeB: true, alpha: alpha)
                                : try matmul(g, b, transposeB: !transposeB, alpha: alpha)
            }
            guard Autograd.needsGradient(1) else { return [da, nil] }
            let db: Tensor
            if broadcastB && !transposeA {
                // Fold the batch into rows: A as [batch·m, k], dC as [batch·m, n].
                let a2 = try a.reshaped([-1, ka]), g2 = try g.reshaped([-1, n])
                db = transposeB ? try matmul(g2, a2, transposeA: true, alpha: alpha) : try matmul(a2, g2, transposeA: true, alpha: alpha)
            } else {
                let perItem = transposeB ? try matmul(g, a, transposeA: true, transposeB: transposeA, alpha: alpha)
                                         : try matmul(a, g, transposeA: !transposeA, alpha: alpha)
                db = broadcastB ? try perItem.sum(axes: Array(0..<batchA.count)) : perItem
            }
            return [da, db]
        }
    }
}
