// Elementwise kernels of the OpenCL backend (elementwise.cl).
extension OpenCLBackend {
    public func fill(_ out: any Buffer, count: Int, value: Float) throws {
        try launch("elementwise", "fill", global: [count], local: [Self.localSize1D],
                   [.buffer(out), .int(count), .float(value)])
    }

    public func unary(_ op: UnaryOp, _ x: any Buffer, _ out: any Buffer, count: Int) throws {
        try launch("elementwise", "unary", global: [count], local: [Self.localSize1D],
                   [.buffer(x), .buffer(out), .int(count), .int(op.code), .float(op.scalar)])
    }

    public func binary(_ op: BinaryOp, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws {
        let count = shape.reduce(1, *)
        try launch("elementwise", "binary", global: [count], local: [Self.localSize1D],
                   Self.viewArgs(a) + Self.viewArgs(b) + [.buffer(out), .int8(shape, pad: 1), .int(shape.count), .int(count), .int(op.rawValue)])
    }

    public func select(_ cond: StridedView, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws {
        let count = shape.reduce(1, *)
        try launch("elementwise", "select_where", global: [count], local: [Self.localSize1D],
                   Self.viewArgs(cond) + Self.viewArgs(a) + Self.viewArgs(b)
                   + [.buffer(out), .int8(shape, pad: 1), .int(shape.count), .int(count)])
    }

    /// (buffer, offset, int8 strides) — the three kernel arguments of a strided view.
    static func viewArgs(_ v: StridedView) -> [KernelArg] {
        [.buffer(v.buffer), .int(v.offset), .int8(v.strides, pad: 0)]
    }
}
