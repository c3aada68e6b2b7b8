// Shape validation shared by both backends' `gemm`.
extension GemmShape {
    /// Throws `shapeMismatch` unless every element of every batch item of op(A) `[m, k]`, op(B) `[k, n]`
    /// and C `[m, n]` lies inside its buffer. Out-of-range reads would be silent on OpenCL and a crash on
    /// the CPU, so both backends check first.
    func validate(a: Int, b: Int, c: Int) throws {
        guard m >= 0, n >= 0, k >= 0, batch >= 0 else {
            throw EngineError.shapeMismatch(op: "gemm", detail: "negative size m=\(m) n=\(n) k=\(k) batch=\(batch)")
        }
        guard strideA >= 0, strideB >= 0, strideC >= 0, offsetA >= 0, offsetB >= 0, offsetC >= 0 else {
            throw EngineError.shapeMismatch(op: "gemm", detail: "negative stride or offset")
        }
        if batch > 1, strideC == 0, m * n > 0 {
            throw EngineError.shapeMismatch(op: "gemm", detail: "strideC = 0 with batch \(batch): items would overwrite each other")
        }
        func extent(_ offset: Int, _ stride: Int, _ size: Int) -> Int {
            size == 0 || batch == 0 ? 0 : offset + (batch - 1) * stride + size
        }
        for (name, need, have) in [("A", extent(offsetA, strideA, m * k), a), ("B", extent(offsetB, strideB, k * n), b),
                                   ("C", extent(offsetC, strideC, m * n), c)] where need > have {
            throw EngineError.shapeMismatch(op: "gemm", detail: "\(name) needs \(need) elements, buffer holds \(have)")
        }
    }
}
