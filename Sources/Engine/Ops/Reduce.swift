// Reductions over axes, over `Backend.reduce`, with VJPs.

extension Tensor {
    /// Reduces over `axes` (negative axes count from the end). With `keepDims` the reduced axes stay as 1.
    /// `max` is for diagnostics: no gradient flows through it.
    public func reduce(_ op: ReduceOp, axes: [Int], keepDims: Bool = false) throws -> Tensor {
        let normalized = try Set(axes.map { a -> Int in
            let d = a < 0 ? a + rank : a
            guard (0..<rank).contains(d) else { throw EngineError.shapeMismatch(op: "reduce", detail: "axis \(a) of rank \(rank)") }
            return d
        }).sorted()
        let kept = shape.enumerated().map { normalized.contains($0.offset) ? 1 : $0.element }
        let raw = try Tensor.empty(kept, on: backend)
        try Profiler.measure("reduce", backend) { try backend.reduce(op, buffer, shape: shape, axes: normalized, raw.buffer) }
        let x = self
        let reducedCount = Float(normalized.reduce(1) { $0 * shape[$1] })
        let out = op == .max ? raw : raw.recorded("\(op)", [x]) { g in
            let expanded = try g.expanded(to: x.shape)
            switch op {
            case .sum: return [expanded]
            case .mean: return [try expanded * (1 / reducedCount)]
            case .sumOfSquares: return [try expanded * x * 2]
            case .max: return [nil]
            }
        }
        return keepDims ? out : try out.reshaped(shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element))
    }

    /// Per-channel dot products over the pixels, `out[n, c] = Σ_{h,w} a[n,c,h,w]·b[n,c,h,w]` (÷ `divisor[n, c]`), in
    /// one launch (`Backend.rowDot`) instead of a product, a reduction and a division. a, b `[N, C, H, W]` (or any
    /// `[N, C, ...]`), divisor `[N, C]` → `[N, C]`. Its VJP is written with Engine ops.
    public static func channelDot(_ a: Tensor, _ b: Tensor, dividedBy divisor: Tensor? = nil) throws -> Tensor {
        guard a.rank >= 2, a.shape == b.shape, divisor.map({ $0.shape == [a.shape[0], a.shape[1]] }) ?? true else {
            throw EngineError.shapeMismatch(op: "channelDot", detail: "a \(a.shape), b \(b.shape), divisor \(divisor?.shape ?? [])")
        }
        let (rows, length) = (a.shape[0] * a.shape[1], a.count / (a.shape[0] * a.shape[1]))
        let out = try Tensor.empty([a.shape[0], a.shape[1]], on: a.backend)
        try Profiler.measure("channelDot", a.backend) {
            try a.backend.rowDot(rows: rows, length: length, a.buffer, b.buffer, divisor: divisor?.buffer, out.buffer)
        }
        return out.recorded("channelDot", [a, b] + (divisor.map { [$0] } ?? [])) { g in
            let perRow = try divisor.map { try g / $0 } ?? g
            let wide = try perRow.reshaped([a.shape[0], a.shape[1]] + [Int](repeating: 1, count: a.rank - 2))
            return [Autograd.needsGradient(0) ? try wide * b : nil, Autograd.needsGradient(1) ? try wide * a : nil]
                + (divisor == nil ? [] : [Autograd.needsGradient(2) ? try perRow * out * -1 : nil])
        }
    }

    /// Σ over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        try reduce(.sum, axes: axes ?? Array(0..<rank), keepDims: keepDims)
    }

    /// Mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        try reduce(.mean, axes: axes ?? Array(0..<rank), keepDims: keepDims)
    }

    /// Σ x² over `axes` (all axes when nil).
    public func sumOfSquares(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        try reduce(.sumOfSquares, axes: axes ?? Array(0..<rank), keepDims: keepDims)
    }
}
