// StyleGAN2 weight modulation of the CPU backend (modconv.cl on OpenCL).
//
// Forward, for every (n, o) row with u = w[o]·s[n] `[I, K]`:
//   1. d[n,o] = rsqrt(Σ_{i,k} u² + eps) when demodulating, else 1
//   2. w'[n,o,i,k] = u[i,k]·d[n,o]
// Backward, given g = ∂L/∂w' `[N, O, I, K]`:
//   1. c[n,o] = d³·Σ_{i,k} g·u (0 without demodulation)
//   2. ∂L/∂u = d·g − c·u
//   3. dw[o,i,k] = Σ_n ∂L/∂u·s[n,i];  ds[n,i] = Σ_{o,k} ∂L/∂u·w[o,i,k]
extension CPUBackend {
    public func modulateWeights(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, modulated: any Buffer) throws {
        try shape.validateForward(weight: weight, styles: styles, modulated: modulated)
        let w = try ptr(weight, "modulateWeights"), s = try ptr(styles, "modulateWeights")
        let out = try ptr(modulated, "modulateWeights")
        let O = shape.outChannels, I = shape.inChannels, K = shape.kernelSize
        let row = I * K
        parallelFor(shape.batch * O, grain: max(1, 4096 / row)) { rows in
            for r in rows {
                let n = r / O, o = r % O
                let wr = w + o * row, sr = s + n * I, dst = out + r * row
                for i in 0..<I {
                    let si = sr[i]
                    for k in 0..<K { dst[i * K + k] = wr[i * K + k] * si }
                }
                let d = shape.demodulate ? Self.demodulation(UnsafePointer(dst), count: row, epsilon: shape.epsilon) : 1
                if d != 1 { for e in 0..<row { dst[e] *= d } }
            }
        }
    }

    public func modulateWeightsBackward(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer,
                                        gradModulated: any Buffer, gradWeight: any Buffer, gradStyles: any Buffer) throws {
        let N = shape.batch, O = shape.outChannels, I = shape.inChannels, K = shape.kernelSize
        try shape.validateBackward(weight: weight, styles: styles, gradModulated: gradModulated,
                                   gradWeight: gradWeight, gradStyles: gradStyles)
        let w = try ptr(weight, "modulateWeightsBackward"), s = try ptr(styles, "modulateWeightsBackward")
        let g = try ptr(gradModulated, "modulateWeightsBackward")
        let dw = try ptr(gradWeight, "modulateWeightsBackward"), ds = try ptr(gradStyles, "modulateWeightsBackward")
        let row = I * K

        // 1. d and c per (n, o) row: rows[2r] = d, rows[2r+1] = c.
        var rowStats = [Float](repeating: 0, count: 2 * N * O)
        rowStats.withUnsafeMutableBufferPointer { stats in
            let st = stats.baseAddress!
            parallelFor(N * O, grain: max(1, 4096 / row)) { rows in
                for r in rows {
                    let n = r / O, o = r % O
                    guard shape.demodulate else { st[2 * r] = 1; st[2 * r + 1] = 0; continue }
                    var sumSq: Float = 0, dot: Float = 0
                    for i in 0..<I {
                        let si = s[n * I + i]
                        for k in 0..<K {
                            let u = w[o * row + i * K + k] * si
                            sumSq += u * u
                            dot += g[r * row + i * K + k] * u
                        }
                    }
                    let d = 1 / (sumSq + shape.epsilon).squareRoot()
                    st[2 * r] = d
                    st[2 * r + 1] = d * d * d * dot
                }
            }
        }
        rowStats.withUnsafeBufferPointer { stats in
            let st = stats.baseAddress!
            /// ∂L/∂u at (n, o, i, k) = d·g − c·u.
            @inline(__always) func gradU(_ n: Int, _ o: Int, _ i: Int, _ k: Int) -> Float {
                let r = n * O + o, e = i * K + k
                let u = w[o * row + e] * s[n * I + i]
                return st[2 * r] * g[r * row + e] - st[2 * r + 1] * u
            }
            // 3a. dw: each thread owns whole output channels.
            parallelFor(O, grain: max(1, 4096 / (N * row))) { channels in
                for o in channels {
                    for i in 0..<I {
                        for k in 0..<K {
                            var acc: Float = 0
                            for n in 0..<N { acc += gradU(n, o, i, k) * s[n * I + i] }
                            dw[o * row + i * K + k] = acc
                        }
                    }
                }
            }
            // 3b. ds: each thread owns whole samples.
            parallelFor(N * I, grain: max(1, 4096 / (O * K))) { items in
                for item in items {
                    let n = item / I, i = item % I
                    var acc: Float = 0
                    for o in 0..<O {
                        for k in 0..<K { acc += gradU(n, o, i, k) * w[o * row + i * K + k] }
                    }
                    ds[item] = acc
                }
            }
        }
    }

    /// The demodulation coefficients alone: d[n,o] = rsqrt(Σ_{i,k} (w·s)² + ε), as `modulateWeights` computes them.
    public func demodulation(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, coefficients: any Buffer) throws {
        try shape.validateDemodulation("demodulation", weight: weight, styles: styles, coefficients: coefficients)
        let w = try ptr(weight, "demodulation"), s = try ptr(styles, "demodulation"), d = try ptr(coefficients, "demodulation")
        let O = shape.outChannels, I = shape.inChannels, K = shape.kernelSize, row = I * K
        parallelFor(shape.batch * O, grain: max(1, 4096 / row)) { rows in
            var u = [Float](repeating: 0, count: row)
            for r in rows {
                let n = r / O, o = r % O
                for i in 0..<I { for k in 0..<K { u[i * K + k] = w[o * row + i * K + k] * s[n * I + i] } }
                d[r] = u.withUnsafeBufferPointer { Self.demodulation($0.baseAddress!, count: row, epsilon: shape.epsilon) }
            }
        }
    }

    /// With t = gd·d³: ds[n,i] = −s[n,i]·Σ_{o,k} t[n,o]·w[o,i,k]², dw[o,i,k] = −w[o,i,k]·Σ_n t[n,o]·s[n,i]².
    public func demodulationBackward(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, coefficients: any Buffer,
                                     gradCoefficients: any Buffer, gradWeight: any Buffer, gradStyles: any Buffer) throws {
        try shape.validateDemodulation("demodulationBackward", weight: weight, styles: styles, coefficients: coefficients,
                                       gradients: (gradCoefficients, gradWeight, gradStyles))
        let op = "demodulationBackward"
        let w = try ptr(weight, op), s = try ptr(styles, op), d = try ptr(coefficients, op), gd = try ptr(gradCoefficients, op)
        let dw = try ptr(gradWeight, op), ds = try ptr(gradStyles, op)
        let N = shape.batch, O = shape.outChannels, I = shape.inChannels, K = shape.kernelSize, row = I * K
        let t = (0..<(N * O)).map { r in gd[r] * d[r] * d[r] * d[r] }
        parallelFor(O, grain: max(1, 4096 / (N * row))) { channels in
            for o in channels {
                for i in 0..<I {
                    var acc: Float = 0
                    for n in 0..<N { acc += t[n * O + o] * s[n * I + i] * s[n * I + i] }
                    for k in 0..<K { dw[o * row + i * K + k] = -w[o * row + i * K + k] * acc }
                }
            }
        }
        parallelFor(N * I, grain: max(1, 4096 / (O * K))) { items in
            for item in items {
                let n = item / I, i = item % I
                var acc: Float = 0
                for o in 0..<O {
                    for k in 0..<K { let wv = w[o * row + i * K + k]; acc += t[n * O + o] * wv * wv }
                }
                ds[item] = -s[item] * acc
            }
        }
    }

    /// `rsqrt(Σ u² + epsilon)` over `count` floats.
    static func demodulation(_ u: UnsafePointer<Float>, count: Int, epsilon: Float) -> Float {
        var acc = SIMD8<Float>(), e = 0
        while e + 8 <= count {
            let v = UnsafeRawPointer(u + e).loadUnaligned(as: SIMD8<Float>.self)
            acc.addProduct(v, v)
            e += 8
        }
        var sum = acc.sum()
        while e < count { sum += u[e] * u[e]; e += 1 }
        return 1 / (sum + epsilon).squareRoot()
    }
}
