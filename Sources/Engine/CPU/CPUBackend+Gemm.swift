// Matrix multiply of the CPU backend (gemm.cl on OpenCL).
extension CPUBackend {
    /// Row-major batched GEMM, simple row-streaming kernel: `C[i,:] += alpha·A[i,p]·B[p,:]`.
    public func gemm(_ s: GemmShape, a: any Buffer, b: any Buffer, c: any Buffer) throws {
        let pa = try ptr(a, "gemm"), pb = try ptr(b, "gemm"), pc = try ptr(c, "gemm")
        let m = s.m, n = s.n, k = s.k
        // B as [k, n] rows; transposed B is packed once per batch item.
        var packed = [Float](repeating: 0, count: s.transB ? k * n : 0)
        for batch in 0..<s.batch {
            let A = pa + s.offsetA + batch * s.strideA
            var B = UnsafePointer(pb + s.offsetB + batch * s.strideB)
            let C = pc + s.offsetC + batch * s.strideC
            if s.transB {
                packed.withUnsafeMutableBufferPointer { t in
                    for p in 0..<k { for j in 0..<n { t[p * n + j] = B[j * k + p] } }
                }
            }
            packed.withUnsafeBufferPointer { t in
                if s.transB { B = t.baseAddress! }
                let Bp = B
                parallelFor(m, grain: max(1, 16384 / max(1, n * k / 64))) { rows in
                    for i in rows {
                        let row = C + i * n
                        if s.beta == 0 { row.update(repeating: 0, count: n) }
                        else if s.beta != 1 { for j in 0..<n { row[j] *= s.beta } }
                        for p in 0..<k {
                            let aip = s.alpha * (s.transA ? A[p * m + i] : A[i * k + p])
                            let brow = Bp + p * n
                            var j = 0
                            let av = SIMD8<Float>(repeating: aip)
                            while j + 8 <= n {
                                let r = UnsafeMutableRawPointer(row + j)
                                let cur = r.loadUnaligned(as: SIMD8<Float>.self)
                                let bv = UnsafeRawPointer(brow + j).loadUnaligned(as: SIMD8<Float>.self)
                                r.storeBytes(of: cur.addingProduct(av, bv), as: SIMD8<Float>.self)
                                j += 8
                            }
                            while j < n { row[j] += aip * brow[j]; j += 1 }
                        }
                    }
                }
            }
        }
    }
}
