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
