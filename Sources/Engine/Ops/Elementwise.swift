// Elementwise ops on tensors with NumPy broadcasting, over `Backend.unary/binary/select`.

extension Tensor {
    /// NumPy broadcast of two shapes (right-aligned; a dimension of 1 stretches).
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: String = "broadcast") throws -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        return try zip(pa, pb).map { x, y in
            if x == y || y == 1 { return x }
            if x == 1 { return y }
            throw EngineError.shapeMismatch(op: op, detail: "cannot broadcast \(a) with \(b)")
        }
    }

    /// This tensor read as `shape` (broadcast): stride 0 on stretched and missing leading dimensions.
    public func broadcastView(to shape: [Int]) -> StridedView {
        let own = [Int](repeating: 1, count: shape.count - rank) + self.shape
        let contiguous = StridedView.contiguousStrides(own)
        let strides = zip(own, contiguous).map { $0.0 == 1 ? 0 : $0.1 }
        return StridedView(buffer, strides: strides)
    }

    /// `op(x)` elementwise.
    public func map(_ op: UnaryOp) throws -> Tensor {
        let out = try Tensor.empty(shape, on: backend)
        try backend.unary(op, buffer, out.buffer, count: count)
        return out
    }

    /// `op(a, b)` elementwise with broadcasting.
    public static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.backend === b.backend else { throw EngineError.foreignBuffer(op: "\(op)") }
        let shape = try broadcastShape(a.shape, b.shape, op: "\(op)")
        let out = try Tensor.empty(shape, on: a.backend)
        try a.backend.binary(op, a.broadcastView(to: shape), b.broadcastView(to: shape), out.buffer, shape: shape)
        return out
    }

    /// `cond > 0 ? a : b` elementwise with broadcasting.
    public static func select(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try broadcastShape(broadcastShape(cond.shape, a.shape, op: "select"), b.shape, op: "select")
        let out = try Tensor.empty(shape, on: a.backend)
        try a.backend.select(cond.broadcastView(to: shape), a.broadcastView(to: shape), b.broadcastView(to: shape),
                             out.buffer, shape: shape)
        return out
    }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binary(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binary(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binary(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binary(.div, a, b) }
    public static func * (a: Tensor, k: Float) throws -> Tensor { try a.map(.scale(k)) }
    public static func + (a: Tensor, k: Float) throws -> Tensor { try a.map(.addScalar(k)) }
}
