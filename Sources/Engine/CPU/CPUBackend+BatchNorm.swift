// Batch normalisation on the CPU backend (batch_norm.cl on OpenCL). Semantics: Backend.swift.
extension CPUBackend {
    public func batchNormStatistics(_ shape: BatchNormShape, x: any Buffer, mean: any Buffer, variance: any Buffer) throws {
        try shape.validate("batchNormStatistics", x: x, perChannel: [("mean", mean), ("variance", variance)])
        let src = try ptr(x, "batchNormStatistics"), m = try ptr(mean, "batchNormStatistics"), v = try ptr(variance, "batchNormStatistics")
        let (outer, channels, inner) = (shape.outer, shape.channels, shape.inner)
        let n = Float(outer * inner)
        parallelFor(channels, grain: 1) { range in
            for c in range {
                // Two passes (mean, then squared deviations), each summed per row then over rows.
                var sum: Float = 0
                for o in 0..<outer {
                    let row = src + (o * channels + c) * inner
                    var s: Float = 0
                    for i in 0..<inner { s += row[i] }
                    sum += s
                }
                let mu = sum / n
                var squares: Float = 0
                for o in 0..<outer {
                    let row = src + (o * channels + c) * inner
                    var s: Float = 0
                    for i in 0..<inner { let d = row[i] - mu; s += d * d }
                    squares += s
                }
                m[c] = mu
                v[c] = squares / n
            }
        }
    }

    public func batchNormApply(_ shape: BatchNormShape, x: any Buffer, mean: any Buffer, variance: any Buffer,
                               gamma: any Buffer, beta: any Buffer, y: any Buffer) throws {
        try shape.validate("batchNormApply", x: x, perChannel: [("mean", mean), ("variance", variance), ("gamma", gamma), ("beta", beta)], y: y)
        let src = try ptr(x, "batchNormApply"), dst = try ptr(y, "batchNormApply")
        let m = try ptr(mean, "batchNormApply"), v = try ptr(variance, "batchNormApply")
        let g = try ptr(gamma, "batchNormApply"), b = try ptr(beta, "batchNormApply")
        let (channels, inner, eps) = (shape.channels, shape.inner, shape.epsilon)
        parallelFor(shape.outer * channels, grain: max(1, 4096 / inner)) { rows in
            for r in rows {
                let c = r % channels
                let scale = 1 / (v[c] + eps).squareRoot() * g[c], mu = m[c], shift = b[c]
                let row = src + r * inner, out = dst + r * inner
                for i in 0..<inner { out[i] = (row[i] - mu) * scale + shift }
            }
        }
    }
}
