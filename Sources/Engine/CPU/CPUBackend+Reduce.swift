// Reductions of the CPU backend (reduce.cl on OpenCL). The oracle: every output accumulates in Double.
extension CPUBackend {
    /// 1. Split the axes into kept and reduced dimensions (`ReducePlan`, merged where contiguous).
    /// 2. Cut each output's reduced index space into chunks when there are too few outputs to keep
    ///    every thread busy; accumulate each (output, chunk) in Double over runs of the innermost
    ///    reduced dimension.
    /// 3. Combine the chunks of each output and finish (mean divides by the reduced count).
    public func reduce(_ op: ReduceOp, _ x: any Buffer, shape: [Int], axes: [Int], _ out: any Buffer) throws {
        let plan = try ReducePlan(shape: shape, axes: axes)
        let px = try ptr(x, "reduce"), po = try ptr(out, "reduce")
        guard x.count >= plan.count, out.count >= plan.outCount else {
            throw EngineError.shapeMismatch(op: "reduce", detail: "buffers of \(x.count) -> \(out.count) elements for shape \(shape) over axes \(axes)")
        }
        let outCount = plan.outCount, n = plan.reducedCount
        guard outCount > 0 else { return }
        if op != .max, let innerStride = plan.keptStrides.last, innerStride == 1, plan.keptShape[plan.keptShape.count - 1] >= 8 {
            return reduceAlongKeptRows(op, px, plan, po)
        }
        let isMax = op == .max
        let identity = isMax ? -Double.infinity : 0
        // Enough chunks that about threads·4 work items exist, each of at least 64k elements.
        let chunks = outCount >= threads * 4 ? 1 : max(1, min(threads * 4 / outCount, n / 65536))
        let chunkLen = (n + chunks - 1) / chunks
        var partials = [Double](repeating: identity, count: outCount * chunks)
        // The reduced index space as at least one dimension.
        let shape = plan.reducedShape.isEmpty ? [1] : plan.reducedShape
        let strides = plan.reducedStrides.isEmpty ? [0] : plan.reducedStrides
        partials.withUnsafeMutableBufferPointer { pp in
            parallelFor(outCount * chunks, grain: max(1, 65536 / max(chunkLen, 1))) { range in
                var idx = [Int](repeating: 0, count: shape.count)
                for g in range {
                    let o = g / chunks, c = g % chunks
                    let lo = c * chunkLen, hi = min(n, lo + chunkLen)
                    if lo < hi { pp[g] = accumulate(op, px + plan.keptOffset(o), shape, strides, lo, hi, &idx) }
                }
            }
        }
        for o in 0..<outCount {
            var acc = identity
            for c in 0..<chunks {
                let p = partials[o * chunks + c]
                acc = isMax ? Swift.max(acc, p) : acc + p
            }
            po[o] = Float(op == .mean ? acc / Double(n) : acc)
        }
    }

    /// Fast path when the innermost kept dimension is contiguous (e.g. `[N, O, I, K]` summed over N, or
    /// `[N, C, H, W]` over C): neighbouring outputs read neighbouring floats, so 16 outputs accumulate at
    /// once in four `SIMD4<Double>`, each still summed over the reduced elements in row-major order.
    private func reduceAlongKeptRows(_ op: ReduceOp, _ px: UnsafeMutablePointer<Float>, _ plan: ReducePlan,
                                     _ po: UnsafeMutablePointer<Float>) {
        let n = plan.reducedCount, inner = plan.keptShape[plan.keptShape.count - 1]
        // Offsets of the reduced elements, row-major over the reduced dimensions.
        var reduced = [0]
        for (size, stride) in zip(plan.reducedShape, plan.reducedStrides) {
            reduced = reduced.flatMap { base in (0..<size).map { base + $0 * stride } }
        }
        let squares = op == .sumOfSquares, divisor = op == .mean ? Double(n) : 1
        let groups = (inner + 15) / 16      // blocks of 16 outputs per kept row
        reduced.withUnsafeBufferPointer { offsets in
            parallelFor(plan.outCount / inner * groups, grain: max(1, 4096 / max(n, 1))) { items in
                for item in items {
                    let row = item / groups, j0 = item % groups * 16, width = min(16, inner - j0)
                    let src = px + plan.keptOffset(row * inner) + j0, dst = po + row * inner + j0
                    if width == 16 {
                        var a0 = SIMD4<Double>(), a1 = SIMD4<Double>(), a2 = SIMD4<Double>(), a3 = SIMD4<Double>()
                        for r in offsets {
                            let lo = load(src + r), hi = load(src + r + 8)
                            var v0 = SIMD4<Double>(lo.lowHalf), v1 = SIMD4<Double>(lo.highHalf)
                            var v2 = SIMD4<Double>(hi.lowHalf), v3 = SIMD4<Double>(hi.highHalf)
                            if squares { v0 *= v0; v1 *= v1; v2 *= v2; v3 *= v3 }
                            a0 += v0; a1 += v1; a2 += v2; a3 += v3
                        }
                        for l in 0..<4 {
                            dst[l] = Float(a0[l] / divisor); dst[4 + l] = Float(a1[l] / divisor)
                            dst[8 + l] = Float(a2[l] / divisor); dst[12 + l] = Float(a3[l] / divisor)
                        }
                    } else {
                        for j in 0..<width {
                            var acc = 0.0
                            for r in offsets { let v = Double(src[r + j]); acc += squares ? v * v : v }
                            dst[j] = Float(acc / divisor)
                        }
                    }
                }
            }
        }
    }

    /// Accumulates reduced elements `lo..<hi` (row-major over `shape`, rank ≥ 1) read from `base`
    /// through `strides`: their sum, sum of squares or max, in Double. Walks the index with an odometer
    /// (`idx`, scratch of `shape.count`) whose innermost dimension runs as a tight strided loop.
    private func accumulate(_ op: ReduceOp, _ base: UnsafeMutablePointer<Float>, _ shape: [Int], _ strides: [Int],
                            _ lo: Int, _ hi: Int, _ idx: inout [Int]) -> Double {
        let rank = shape.count, inner = shape[rank - 1], innerStride = strides[rank - 1]
        var rem = lo, off = 0
        for d in stride(from: rank - 1, through: 0, by: -1) {
            idx[d] = rem % shape[d]
            rem /= shape[d]
            off += idx[d] * strides[d]
        }
        var acc = op == .max ? -Double.infinity : 0
        var r = lo
        while r < hi {
            let run = Swift.min(inner - idx[rank - 1], hi - r)
            let p = base + off
            switch op {
            case _ where innerStride == 1 && op != .max:
                // Contiguous run of a sum: vectorised.
                acc += Self.sumContiguous(p, run, squares: op == .sumOfSquares)
            case .sum, .mean:
                for j in 0..<run { acc += Double(p[j * innerStride]) }
            case .sumOfSquares:
                for j in 0..<run { let v = Double(p[j * innerStride]); acc += v * v }
            case .max:
                for j in 0..<run { let v = Double(p[j * innerStride]); if v > acc { acc = v } }
            }
            r += run
            idx[rank - 1] += run
            off += run * innerStride
            var d = rank - 1
            while d > 0, idx[d] == shape[d] {
                off -= shape[d] * strides[d]
                idx[d] = 0
                d -= 1
                idx[d] += 1
                off += strides[d]
            }
        }
        return acc
    }

    /// Σ_j a[r·length + j]·b[r·length + j] per row: the float products summed in Double, as `(a * b).sum` does.
    public func rowDot(rows: Int, length: Int, _ a: any Buffer, _ b: any Buffer, divisor: (any Buffer)?, _ out: any Buffer) throws {
        try Self.validateRowDot(rows: rows, length: length, a, b, divisor: divisor, out)
        let pa = try ptr(a, "rowDot"), pb = try ptr(b, "rowDot"), po = try ptr(out, "rowDot")
        let pd = try divisor.map { try ptr($0, "rowDot") }
        parallelFor(rows, grain: max(1, 65536 / max(length, 1))) { range in
            for r in range {
                let (x, y) = (pa + r * length, pb + r * length)
                var lo = SIMD4<Double>(), hi = SIMD4<Double>(), j = 0
                while j + 8 <= length {
                    let v = load(x + j) * load(y + j)
                    lo += SIMD4<Double>(v.lowHalf)
                    hi += SIMD4<Double>(v.highHalf)
                    j += 8
                }
                var acc = (lo + hi).sum()
                while j < length { acc += Double(x[j] * y[j]); j += 1 }
                let total = Float(acc)
                po[r] = pd.map { total / $0[r] } ?? total
            }
        }
    }

    /// Shape checks of `rowDot`, shared by both backends.
    static func validateRowDot(rows: Int, length: Int, _ a: any Buffer, _ b: any Buffer, divisor: (any Buffer)?,
                               _ out: any Buffer) throws {
        guard rows > 0, length > 0, rows * length <= Int(Int32.max) else {
            throw EngineError.shapeMismatch(op: "rowDot", detail: "\(rows) rows of length \(length)")
        }
        for (name, buffer, need) in [("a", a, rows * length), ("b", b, rows * length), ("out", out, rows)]
            + (divisor.map { [("divisor", $0, rows)] } ?? []) where buffer.count < need {
            throw EngineError.shapeMismatch(op: "rowDot", detail: "\(name) buffer holds \(buffer.count) floats, [\(rows), \(length)] needs \(need)")
        }
    }

    /// Σ p[j] (or Σ p[j]²) for j < n in Double: 8 floats at a time into two SIMD4<Double> partial sums
    /// (eight independent chains instead of one), then a scalar tail.
    @inline(__always)
    private static func sumContiguous(_ p: UnsafeMutablePointer<Float>, _ n: Int, squares: Bool) -> Double {
        var lo = SIMD4<Double>(), hi = SIMD4<Double>(), j = 0
        while j + 8 <= n {
            let v = load(p + j)
            let a = SIMD4<Double>(v.lowHalf), b = SIMD4<Double>(v.highHalf)
            if squares { lo += a * a; hi += b * b } else { lo += a; hi += b }
            j += 8
        }
        var acc = (lo + hi).sum()
        while j < n { let v = Double(p[j]); acc += squares ? v * v : v; j += 1 }
        return acc
    }
}
