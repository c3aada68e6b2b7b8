// Layout ops (permute, slice, concat, expand, repeat), all over the one `Backend.copy` primitive, with VJPs.

extension Tensor {
    /// Axes reordered: result dimension d is this tensor's dimension `axes[d]`.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.sorted() == Array(0..<rank) else {
            throw EngineError.shapeMismatch(op: "permute", detail: "axes \(axes) for rank \(rank)")
        }
        let strides = StridedView.contiguousStrides(shape)
        let newShape = axes.map { shape[$0] }
        let out = try Tensor.empty(newShape, on: backend)
        try Profiler.measure("copy", backend) { try backend.copy(StridedView(buffer, strides: axes.map { strides[$0] }),
                         to: StridedView(contiguous: out.buffer, shape: newShape), shape: newShape) }
        var inverse = axes
        for (d, a) in axes.enumerated() { inverse[a] = d }
        return out.recorded("permute", [self]) { [inverse] g in [try g.permuted(inverse)] }
    }

    /// Elements `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) throws -> Tensor {
        guard (0..<rank).contains(axis), range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw EngineError.shapeMismatch(op: "slice", detail: "\(range) of axis \(axis) in \(shape)")
        }
        let strides = StridedView.contiguousStrides(shape)
        var newShape = shape
        newShape[axis] = range.count
        let out = try Tensor.empty(newShape, on: backend)
        try Profiler.measure("copy", backend) { try backend.copy(StridedView(buffer, offset: range.lowerBound * strides[axis], strides: strides),
                         to: StridedView(contiguous: out.buffer, shape: newShape), shape: newShape) }
        let full = shape
        return out.recorded("slice", [self]) { g in [try g.placed(in: full, axis: axis, at: range.lowerBound)] }
    }

    /// This tensor written into zeros of `shape` at `offset` along `axis` (the adjoint of `sliced`).
    public func placed(in target: [Int], axis: Int, at offset: Int) throws -> Tensor {
        guard target.count == rank, offset >= 0, offset + shape[axis] <= target[axis] else {
            throw EngineError.shapeMismatch(op: "placed", detail: "\(shape) into \(target) at \(offset) on axis \(axis)")
        }
        let out = try Tensor.zeros(target, on: backend)
        let strides = StridedView.contiguousStrides(target)
        try Profiler.measure("copy", backend) { try backend.copy(StridedView(contiguous: buffer, shape: shape),
                         to: StridedView(out.buffer, offset: offset * strides[axis], strides: strides), shape: shape) }
        let own = shape
        return out.recorded("placed", [self]) { g in [try g.sliced(axis: axis, offset..<(offset + own[axis]))] }
    }

    /// Tensors joined along `axis`; all other dimensions must agree.
    public static func concat(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else { throw EngineError.shapeMismatch(op: "concat", detail: "no tensors") }
        for p in parts where p.rank != first.rank || zip(p.shape, first.shape).enumerated().contains(where: { $0.offset != axis && $0.element.0 != $0.element.1 }) {
            throw EngineError.shapeMismatch(op: "concat", detail: "\(p.shape) vs \(first.shape) along axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let out = try Tensor.empty(shape, on: first.backend)
        let outStrides = StridedView.contiguousStrides(shape)
        var start = 0
        for p in parts {
            try Profiler.measure("copy", first.backend) { try first.backend.copy(StridedView(contiguous: p.buffer, shape: p.shape),
                                   to: StridedView(out.buffer, offset: start * outStrides[axis], strides: outStrides), shape: p.shape) }
            start += p.shape[axis]
        }
        let sizes = parts.map { $0.shape[axis] }
        return out.recorded("concat", parts) { g in
            var lo = 0
            return try sizes.map { n in
                defer { lo += n }
                return try g.sliced(axis: axis, lo..<(lo + n))
            }
        }
    }

    /// Broadcast to `shape` (materialised).
    public func expanded(to newShape: [Int]) throws -> Tensor {
        let target = try Tensor.broadcastShape(shape, newShape, op: "expand")
        guard target == newShape else { throw EngineError.shapeMismatch(op: "expand", detail: "\(shape) -> \(newShape)") }
        let out = try Tensor.empty(newShape, on: backend)
        try Profiler.measure("copy", backend) { try backend.copy(broadcastView(to: newShape), to: StridedView(contiguous: out.buffer, shape: newShape), shape: newShape) }
        let own = shape
        return out.recorded("expand", [self]) { g in [try g.summed(to: own)] }
    }

    /// Tiled `times[d]` times along each axis d (NumPy `tile` with equal rank).
    public func repeated(_ times: [Int]) throws -> Tensor {
        guard times.count == rank else { throw EngineError.shapeMismatch(op: "repeat", detail: "\(times) for rank \(rank)") }
        // View as [t0, s0, t1, s1, ...] with stride 0 on the t axes, then collapse pairs.
        let strides = StridedView.contiguousStrides(shape)
        var viewShape: [Int] = [], viewStrides: [Int] = []
        for d in 0..<rank { viewShape += [times[d], shape[d]]; viewStrides += [0, strides[d]] }
        let out = try Tensor.empty(viewShape, on: backend)
        try Profiler.measure("copy", backend) { try backend.copy(StridedView(buffer, strides: viewStrides), to: StridedView(contiguous: out.buffer, shape: viewShape), shape: viewShape) }
        let own = shape
        let tiled = out.recorded("repeat", [self]) { g in
            [try g.sum(axes: Array(stride(from: 0, to: 2 * own.count, by: 2)), keepDims: true).reshaped(own)]
        }
        return try tiled.reshaped(zip(shape, times).map { $0 * $1 })
    }
}
