// Reductions of the OpenCL backend (reduce.cl).
extension OpenCLBackend {
    /// Reduced elements per work-group in a pass that writes partials: 16 per work-item at 256.
    static let reduceChunk = 4096
    /// Reductions at most this long run one work-item per output (`reduce_items`).
    static let reduceItemsLimit = 16
    /// Upper bound of partials (output elements × chunks) held in the temporary buffer of pass 1.
    static let reduceMaxPartials = 1 << 20

    /// 1. `ReducePlan` splits kept and reduced dimensions (merged where contiguous).
    /// 2. Short reductions: `reduce_items`, one work-item per output.
    /// 3. Otherwise `reduce_groups`, one work-group per (output, chunk) with a tree in local memory.
    ///    A reduction longer than 2·`reduceChunk` is cut into chunks of about `reduceChunk`; pass 1
    ///    writes per-chunk partials to a temporary buffer and pass 2 reduces `[outputs, chunks]` over
    ///    its last axis with this same function (so it may split again).
    public func reduce(_ op: ReduceOp, _ x: any Buffer, shape: [Int], axes: [Int], _ out: any Buffer) throws {
        let plan = try checkedPlan("reduce", x, shape: shape, axes: axes, out)
        guard plan.outCount > 0 else { return }
        if plan.reducedCount == 0 {
            try fill(out, count: plan.outCount, value: op == .sum || op == .sumOfSquares ? 0 : (op == .max ? -.infinity : .nan))
            return
        }
        try reducePass(x, plan, square: op == .sumOfSquares, isMax: op == .max,
                       scale: op == .mean ? 1 / Float(plan.reducedCount) : 1, out)
    }

    /// `biasActGrad` into `gradX` and its sum per channel into `gradBias` `[channels]`, in the passes of one sum over the
    /// outer and inner axes: the first pass reads dy and y, writes dx and sums it (reduce.cl -D BIAS_ACT_GRAD).
    public func biasActGradSum(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer,
                               gradBias: any Buffer) throws {
        try shape.validate("biasActGradSum", hasBias: false, buffers: [gradY, y, gradX])
        let plan = try checkedPlan("biasActGradSum", gradY, shape: shape.reductionShape, axes: [0, 2], gradBias)
        try reducePass(gradY, plan, square: false, isMax: false, scale: 1, gradBias,
                       biasActGrad: (shape, y, gradX))
    }

    /// The `ReducePlan` of `shape` over `axes`, checked against the buffers' sizes and reduce.cl's 32-bit indexing.
    private func checkedPlan(_ op: String, _ x: any Buffer, shape: [Int], axes: [Int], _ out: any Buffer) throws -> ReducePlan {
        let plan = try ReducePlan(shape: shape, axes: axes, op: op)
        guard x.count >= plan.count, out.count >= plan.outCount else {
            throw EngineError.shapeMismatch(op: op, detail: "buffers of \(x.count) -> \(out.count) elements for shape \(shape) over axes \(axes)")
        }
        guard plan.count <= Int(Int32.max) else {
            throw EngineError.shapeMismatch(op: op, detail: "\(plan.count) elements exceed the 32-bit indexing of reduce.cl")
        }
        return plan
    }

    /// One reduction pass (and, for a long reduction, the passes over its partials). With `biasActGrad`, the first
    /// pass's loads are bias_act's gradient of x (dy) and y, written to dx as they are summed.
    private func reducePass(_ x: any Buffer, _ plan: ReducePlan, square: Bool, isMax: Bool, scale: Float,
                            _ out: any Buffer, biasActGrad: (shape: BiasActShape, y: any Buffer, dx: any Buffer)? = nil) throws {
        let n = plan.reducedCount, outCount = plan.outCount
        let dims: [KernelArg] = [.int8(plan.keptShape, pad: 1), .int8(plan.keptStrides, pad: 0), .int(plan.keptShape.count),
                                 .int8(plan.reducedShape, pad: 1), .int8(plan.reducedStrides, pad: 0), .int(plan.reducedShape.count)]
        let flags: [KernelArg] = [.int(square ? 1 : 0), .int(isMax ? 1 : 0)]
        let options = biasActGrad.map { "-D BIAS_ACT_GRAD -D ACT=\($0.shape.activation.rawValue)" } ?? ""
        let gradArgs: [KernelArg] = biasActGrad.map {
            [.buffer($0.y), .buffer($0.dx), .float($0.shape.alpha), .float($0.shape.gain), .float($0.shape.clamp)]
        } ?? []
        if n <= Self.reduceItemsLimit {
            try launch("reduce", "reduce_items", options: options, global: [outCount], local: [Self.localSize1D],
                       [.buffer(x), .buffer(out)] + dims + [.int(n), .int(outCount)] + flags + [.float(scale)] + gradArgs)
            return
        }
        var chunks = 1
        if n > 2 * Self.reduceChunk {
            chunks = min((n + Self.reduceChunk - 1) / Self.reduceChunk, max(1, Self.reduceMaxPartials / outCount))
        }
        let chunkLen = (n + chunks - 1) / chunks
        var local = 1
        while local < min(chunkLen, 256, max(1, info.maxWorkGroupSize)) { local *= 2 }
        if local > max(1, info.maxWorkGroupSize) { local /= 2 }
        let groups = outCount * chunks
        let target = chunks == 1 ? out : try allocate(groups)
        try launch("reduce", "reduce_groups", options: options, global: [groups * local], local: [local],
                   [.buffer(x), .buffer(target)] + dims
                   + [.int(n), .int(chunkLen), .int(chunks), .int(groups)] + flags
                   + [.float(chunks == 1 ? scale : 1), .local(local * MemoryLayout<Float>.stride)] + gradArgs)
        if chunks > 1 {
            try reducePass(target, try ReducePlan(shape: [outCount, chunks], axes: [1]),
                           square: false, isMax: isMax, scale: scale, out)
        }
    }

    /// `row_dot`: one work-group per row, its local size the power of two covering the row, at most 256.
    public func rowDot(rows: Int, length: Int, _ a: any Buffer, _ b: any Buffer, divisor: (any Buffer)?, _ out: any Buffer) throws {
        try CPUBackend.validateRowDot(rows: rows, length: length, a, b, divisor: divisor, out)
        var local = 1
        while local < min(length, Self.localSize1D) { local *= 2 }
        try launch("reduce", "row_dot", global: [rows * local], local: [local],
                   [.buffer(a), .buffer(b), .buffer(divisor ?? a), .buffer(out), .int(Int32(rows)), .int(Int32(length)),
                    .int(divisor == nil ? 0 : 1), .local(local * 4)])
    }
}
