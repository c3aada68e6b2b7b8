// The CPU GEMM for few rows (m ≤ 8: a fully connected layer on a small batch), without packing.
//
// With m this small the product is bound by streaming B (a weight matrix, often many MiB) once; the
// packed path would copy all of B into panels first (a scatter when B is transposed) and fill only
// m of each 6-row micro-tile. Here B is read in place, split over threads by columns of C:
//   transB  C[i, j] = dot(A[i, :], B[j, :]): both rows contiguous in p, SIMD8 over p, up to four rows
//           of A per pass over one row of B;
//   else    C[i, j0 ..< j0+16] = Σ_p A[i, p]·B[p, j0 ..< j0+16]: B rows contiguous in j, two SIMD8
//           accumulators per row of A, up to four rows per pass.
// A is first copied into a contiguous `[m, k]` (it is small), so op(A) may be transposed.
extension CPUBackend {
    /// Rows at or below which `gemm` takes the skinny path.
    static let skinnyRows = 8

    /// `C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b]` for `s.m ≤ skinnyRows` (C not read when beta == 0).
    func gemmSkinny(_ s: GemmShape, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        let (m, n, k) = (s.m, s.n, s.k)
        // Column blocks of C per work item: about 2¹⁶ multiply-adds each, whole 16-column groups.
        let width = max(16, min(n, (1 << 16) / max(m * k, 1)) / 16 * 16)
        let blocks = (n + width - 1) / width
        scratch.withFloats(s.batch * m * k) { rows in
            // op(A) of every batch item as contiguous rows: rows[(item·m + i)·k + p] = op(A)[i, p].
            for item in 0..<s.batch {
                let src = a + s.offsetA + item * s.strideA, dst = rows + item * m * k
                for i in 0..<m {
                    for p in 0..<k { dst[i * k + p] = s.transA ? src[p * m + i] : src[i * k + p] }
                }
            }
            let rows = UnsafePointer(rows)
            let run = { (items: Range<Int>) in
                for job in items {
                    let item = job / blocks, j0 = job % blocks * width, j1 = min(n, j0 + width)
                    let ai = rows + item * m * k, bi = b + s.offsetB + item * s.strideB, ci = c + s.offsetC + item * s.strideC
                    for i0 in stride(from: 0, to: m, by: 4) {
                        let r = min(4, m - i0)
                        if s.transB {
                            Self.skinnyDots(rows: r, a: ai + i0 * k, k: k, b: bi, columns: j0..<j1, c: ci + i0 * n, ldc: n,
                                            alpha: s.alpha, beta: s.beta)
                        } else {
                            Self.skinnyAxpy(rows: r, a: ai + i0 * k, k: k, b: bi, ldb: n, columns: j0..<j1, c: ci + i0 * n, ldc: n,
                                            alpha: s.alpha, beta: s.beta)
                        }
                    }
                }
            }
            // Small products run on the calling thread (dispatch costs ~10 µs).
            if 2 * m * n * k * s.batch < GemmBlocking.serialFlops { run(0 ..< s.batch * blocks) }
            else { parallelFor(s.batch * blocks, grain: 1, run) }
        }
    }

    /// `C[i, j] = alpha·Σ_p A[i, p]·B[j, p] + beta·C[i, j]` for i < rows ≤ 4 and j in `columns`; A rows
    /// and B rows are contiguous (`k` floats). Rows beyond `rows` repeat row 0 and are not stored.
    private static func skinnyDots(rows: Int, a: UnsafePointer<Float>, k: Int, b: UnsafePointer<Float>, columns: Range<Int>,
                                   c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float) {
        let a0 = a, a1 = rows > 1 ? a + k : a, a2 = rows > 2 ? a + 2 * k : a, a3 = rows > 3 ? a + 3 * k : a
        for j in columns {
            let w = b + j * k
            var s0 = Float8(), s1 = Float8(), s2 = Float8(), s3 = Float8(), p = 0
            while p + 8 <= k {
                let v = load(w + p)
                s0 = s0.addingProduct(load(a0 + p), v); s1 = s1.addingProduct(load(a1 + p), v)
                s2 = s2.addingProduct(load(a2 + p), v); s3 = s3.addingProduct(load(a3 + p), v)
                p += 8
            }
            var d = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
            while p < k {
                let v = w[p]
                d += SIMD4(a0[p], a1[p], a2[p], a3[p]) * v
                p += 1
            }
            for i in 0..<rows {
                let out = c + i * ldc + j
                out.pointee = beta == 0 ? alpha * d[i] : alpha * d[i] + beta * out.pointee
            }
        }
    }

    /// `C[i, j] = alpha·Σ_p A[i, p]·B[p, j] + beta·C[i, j]` for i < rows ≤ 4 and j in `columns`, 16
    /// columns at a time in registers (then 8, then single columns); B rows `ldb` apart.
    private static func skinnyAxpy(rows: Int, a: UnsafePointer<Float>, k: Int, b: UnsafePointer<Float>, ldb: Int,
                                   columns: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float) {
        let a0 = a, a1 = rows > 1 ? a + k : a, a2 = rows > 2 ? a + 2 * k : a, a3 = rows > 3 ? a + 3 * k : a
        @inline(__always) func finish(_ acc: Float8, row i: Int, at j: Int) {
            let out = c + i * ldc + j
            store(beta == 0 ? acc * alpha : acc * alpha + load(out) * beta, out)
        }
        var j = columns.lowerBound
        while j + 16 <= columns.upperBound {
            var c0 = Float8(), d0 = Float8(), c1 = Float8(), d1 = Float8()
            var c2 = Float8(), d2 = Float8(), c3 = Float8(), d3 = Float8()
            for p in 0..<k {
                let row = b + p * ldb + j
                let lo = load(row), hi = load(row + 8)
                c0 = c0.addingProduct(a0[p], lo); d0 = d0.addingProduct(a0[p], hi)
                c1 = c1.addingProduct(a1[p], lo); d1 = d1.addingProduct(a1[p], hi)
                c2 = c2.addingProduct(a2[p], lo); d2 = d2.addingProduct(a2[p], hi)
                c3 = c3.addingProduct(a3[p], lo); d3 = d3.addingProduct(a3[p], hi)
            }
            let accs = (c0, d0, c1, d1, c2, d2, c3, d3)
            finish(accs.0, row: 0, at: j); finish(accs.1, row: 0, at: j + 8)
            if rows > 1 { finish(accs.2, row: 1, at: j); finish(accs.3, row: 1, at: j + 8) }
            if rows > 2 { finish(accs.4, row: 2, at: j); finish(accs.5, row: 2, at: j + 8) }
            if rows > 3 { finish(accs.6, row: 3, at: j); finish(accs.7, row: 3, at: j + 8) }
            j += 16
        }
        while j + 8 <= columns.upperBound {
            var c0 = Float8(), c1 = Float8(), c2 = Float8(), c3 = Float8()
            for p in 0..<k {
                let v = load(b + p * ldb + j)
                c0 = c0.addingProduct(a0[p], v); c1 = c1.addingProduct(a1[p], v)
                c2 = c2.addingProduct(a2[p], v); c3 = c3.addingProduct(a3[p], v)
            }
            finish(c0, row: 0, at: j)
            if rows > 1 { finish(c1, row: 1, at: j) }
            if rows > 2 { finish(c2, row: 2, at: j) }
            if rows > 3 { finish(c3, row: 3, at: j) }
            j += 8
        }
        while j < columns.upperBound {
            var d = SIMD4<Float>()
            for p in 0..<k { d += SIMD4(a0[p], a1[p], a2[p], a3[p]) * b[p * ldb + j] }
            for i in 0..<rows {
                let out = c + i * ldc + j
                out.pointee = beta == 0 ? alpha * d[i] : alpha * d[i] + beta * out.pointee
            }
            j += 1
        }
    }
}
