// Elementwise ops on tensors with NumPy broadcasting, over `Backend.unary/binary/select`, with VJPs.

extension Tensor {
    /// NumPy broadcast of two shapes (right-aligned; a dimension of 1 stretches).
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: @autoclosure () -> String = "broadcast") throws -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        return try zip(pa, pb).map { x, y in
            if x == y || y == 1 { return x }
            if x == 1 { return y }
            throw EngineError.shapeMismatch(op: op(), detail: "cannot broadcast \(a) with \(b)")
        }
    }

    /// This tensor read as `shape` (broadcast): stride 0 on stretched and missing leading dimensions.
    public func broadcastView(to shape: [Int]) -> StridedView {
        let own = [Int](repeating: 1, count: shape.count - rank) + self.shape
        let contiguous = StridedView.contiguousStrides(own)
        let strides = zip(own, contiguous).map { $0.0 == 1 ? 0 : $0.1 }
        return StridedView(buffer, strides: strides)
    }

    /// Sums a broadcast gradient back to `target` (the shape before broadcasting).
    public func summed(to target: [Int]) throws -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for (d, size) in target.enumerated() where size == 1 && shape[lead + d] != 1 { axes.append(lead + d) }
        return try sum(axes: axes, keepDims: true).reshaped(target)
    }

    // MARK: - Unary

    /// `op(x)` elementwise.
    public func map(_ op: UnaryOp) throws -> Tensor {
        let out = try Tensor.empty(shape, on: backend)
        try Profiler.measure("unary", backend) { try backend.unary(op, buffer, out.buffer, count: count) }
        let x = self
        return out.recorded("\(op)", [x]) { g in [try Tensor.unaryVJP(op, x, g)] }
    }

    /// ∂op(x)/∂x · g, written with differentiable ops of x.
    static func unaryVJP(_ op: UnaryOp, _ x: Tensor, _ g: Tensor) throws -> Tensor? {
        switch op {
        case .neg: return try g.map(.neg)
        case .sqrt: return try g * x.map(.rsqrt) * 0.5
        case .rsqrt: return try g * x.map(.powScalar(-1.5)) * -0.5
        case .exp: return try g * x.map(.exp)
        case .log: return try g / x
        case .square: return try g * x * 2
        case .abs: return try g * x.map(.sign).detached()
        case .softplus: return try g * (x.map(.neg).map(.exp) + 1).map(.reciprocal)
        case .relu: return try g * x.map(.step(threshold: 0)).detached()
        case .sign, .step: return nil
        case .reciprocal: return try g.map(.neg) * x.map(.square).map(.reciprocal)
        case .leakyReLU(let a): return try select(x.detached(), g, g * a)
        case .scale(let k): return try g * k
        case .addScalar: return g
        case .powScalar(let p): return try g * x.map(.powScalar(p - 1)) * p
        case .sigmoid:
            let y = try x.map(.sigmoid)
            return try g * y * (y.map(.neg) + 1)
        case .tanh: return try g * (x.map(.tanh).map(.square).map(.neg) + 1)
        }
    }

    // MARK: - Binary

    /// `op(a, b)` elementwise with broadcasting.
    public static func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.backend === b.backend else { throw EngineError.foreignBuffer(op: "\(op)") }
        let shape = try broadcastShape(a.shape, b.shape, op: "\(op)")
        let out = try Tensor.empty(shape, on: a.backend)
        try Profiler.measure("binary", a.backend) { try a.backend.binary(op, a.broadcastView(to: shape), b.broadcastView(to: shape), out.buffer, shape: shape) }
        return out.recorded("\(op)", [a, b]) { g in
            let (ga, gb) = try binaryVJP(op, a, b, g, needs: (Autograd.needsGradient(0), Autograd.needsGradient(1)))
            return [try ga?.summed(to: a.shape), try gb?.summed(to: b.shape)]
        }
    }

    /// (∂/∂a, ∂/∂b) of `op(a, b)` times g, before summing over broadcast axes; `needs` skips the products of a
    /// side whose gradient nobody asked for (nil there).
    static func binaryVJP(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ g: Tensor,
                          needs: (a: Bool, b: Bool) = (true, true)) throws -> (Tensor?, Tensor?) {
        switch op {
        case .add: return (g, g)
        case .sub: return (g, needs.b ? try g.map(.neg) : nil)
        case .mul: return (needs.a ? try g * b : nil, needs.b ? try g * a : nil)
        case .div: return (needs.a ? try g / b : nil, needs.b ? try (g * a / (b * b)).map(.neg) : nil)
        case .pow:
            let y = try binary(.pow, a, b)
            return (try g * b * binary(.pow, a, b.map(.addScalar(-1))), try g * y * a.map(.log))
        case .maximum, .minimum:
            let first = op == .maximum ? try binary(.greater, a, b) : try binary(.greater, b, a)
            let mask = first.detached()
            return (try g * mask, try g * mask.map(.neg).map(.addScalar(1)))
        case .greater: return (nil, nil)
        }
    }

    /// `cond > 0 ? a : b` elementwise with broadcasting (no gradient flows to `cond`).
    public static func select(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try broadcastShape(broadcastShape(cond.shape, a.shape, op: "select"), b.shape, op: "select")
        let out = try Tensor.empty(shape, on: a.backend)
        try Profiler.measure("select", a.backend) { try a.backend.select(cond.broadcastView(to: shape), a.broadcastView(to: shape), b.broadcastView(to: shape),
                             out.buffer, shape: shape) }
        let c = cond.detached()
        return out.recorded("select", [a, b]) { g in
            let zero = try Tensor.zeros([1], on: g.backend)
            return [try select(c, g, zero).summed(to: a.shape), try select(c, zero, g).summed(to: b.shape)]
        }
    }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binary(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binary(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binary(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binary(.div, a, b) }
    public static func * (a: Tensor, k: Float) throws -> Tensor { try a.map(.scale(k)) }
    public static func + (a: Tensor, k: Float) throws -> Tensor { try a.map(.addScalar(k)) }
}
