import Foundation

// Elementwise kernels of the CPU backend (elementwise.cl on OpenCL).
extension CPUBackend {
    public func fill(_ out: any Buffer, count: Int, value: Float) throws {
        let o = try ptr(out, "fill")
        parallelFor(count, grain: 1 << 16) { r in (o + r.lowerBound).update(repeating: value, count: r.count) }
    }

    public func unary(_ op: UnaryOp, _ x: any Buffer, _ out: any Buffer, count: Int) throws {
        let src = try ptr(x, "unary"), dst = try ptr(out, "unary")
        @inline(__always) func apply(_ f: @escaping (Float) -> Float) {
            parallelFor(count, grain: 1 << 14) { r in for i in r { dst[i] = f(src[i]) } }
        }
        switch op {
        case .neg: apply { -$0 }
        case .sqrt: apply { $0.squareRoot() }
        case .rsqrt: apply { 1 / $0.squareRoot() }
        case .exp: apply { Foundation.exp($0) }
        case .log: apply { Foundation.log($0) }
        case .square: apply { $0 * $0 }
        case .abs: apply { Swift.abs($0) }
        case .softplus: apply { Swift.max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) }
        case .relu: apply { Swift.max($0, 0) }
        case .sign: apply { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        case .reciprocal: apply { 1 / $0 }
        case .leakyReLU(let a): apply { $0 > 0 ? $0 : a * $0 }
        case .scale(let k): apply { $0 * k }
        case .addScalar(let k): apply { $0 + k }
        case .powScalar(let p): apply { Foundation.pow($0, p) }
        case .step(let t): apply { $0 > t ? 1 : 0 }
        }
    }

    public func binary(_ op: BinaryOp, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws {
        let pa = try ptr(a.buffer, "binary"), pb = try ptr(b.buffer, "binary"), po = try ptr(out, "binary")
        @inline(__always) func apply(_ f: @escaping (Float, Float) -> Float) {
            forEachStrided(shape, [a.strides, b.strides]) { i, offs in
                po[i] = f(pa[a.offset + offs[0]], pb[b.offset + offs[1]])
            }
        }
        switch op {
        case .add: apply(+)
        case .sub: apply(-)
        case .mul: apply(*)
        case .div: apply(/)
        case .pow: apply { Foundation.pow($0, $1) }
        case .maximum: apply { Swift.max($0, $1) }
        case .minimum: apply { Swift.min($0, $1) }
        case .greater: apply { $0 > $1 ? 1 : 0 }
        }
    }

    public func select(_ cond: StridedView, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws {
        let pc = try ptr(cond.buffer, "select"), pa = try ptr(a.buffer, "select")
        let pb = try ptr(b.buffer, "select"), po = try ptr(out, "select")
        forEachStrided(shape, [cond.strides, a.strides, b.strides]) { i, offs in
            po[i] = pc[cond.offset + offs[0]] > 0 ? pa[a.offset + offs[1]] : pb[b.offset + offs[2]]
        }
    }

    /// Calls `body(i, offsets)` for every flat row-major index `i` of `shape`, where `offsets[v]` is
    /// `Σ idx[d]·strides[v][d]`. Rows of the last axis run as tight loops; rows are split over threads.
    func forEachStrided(_ shape: [Int], _ strides: [[Int]], _ body: (Int, [Int]) -> Void) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        let rank = shape.count
        let inner = rank == 0 ? 1 : shape[rank - 1]
        let innerStrides = strides.map { rank == 0 ? 0 : $0[rank - 1] }
        let rows = count / inner
        parallelFor(rows, grain: max(1, 8192 / inner)) { range in
            var offs = [Int](repeating: 0, count: strides.count)
            for row in range {
                // Offsets of the row start.
                var rem = row
                for v in strides.indices { offs[v] = 0 }
                for d in stride(from: rank - 2, through: 0, by: -1) {
                    let idx = rem % shape[d]
                    rem /= shape[d]
                    for v in strides.indices { offs[v] += idx * strides[v][d] }
                }
                var cur = offs
                for j in 0..<inner {
                    body(row * inner + j, cur)
                    for v in cur.indices { cur[v] += innerStrides[v] }
                }
            }
        }
    }
}
