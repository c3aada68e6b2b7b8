// Argument checks and index bookkeeping shared by both backends' reduce, copy, random and optimizer
// kernels: adjacent dimensions are merged so that kernels iterate over as few (and as long) dimensions
// as possible.

/// A reduction of a contiguous `shape` over `axes`, split into the kept dimensions (which index the
/// contiguous output) and the reduced ones, each with its input strides. Size-1 dimensions are dropped
/// and adjacent dimensions that are contiguous with each other are merged, so e.g. a full reduction of
/// a contiguous tensor is one reduced dimension of stride 1. Each list has at most `StridedView.maxRank`
/// entries.
struct ReducePlan: Equatable {
    /// Output dimensions (row-major order of the output) and their strides in the input.
    var keptShape: [Int], keptStrides: [Int]
    /// Reduced dimensions (row-major order of the reduced index space) and their strides in the input.
    var reducedShape: [Int], reducedStrides: [Int]
    /// Elements of the input, of the output, and reduced into each output element.
    var count: Int, outCount: Int, reducedCount: Int

    /// Checks `shape` (rank ≤ 8, no negative sizes) and `axes` (each in `0..<rank`, or negative counted
    /// from the end; duplicates ignored); throws `shapeMismatch` naming `op`.
    init(shape: [Int], axes: [Int], op: String = "reduce") throws {
        let rank = shape.count
        guard rank <= StridedView.maxRank else {
            throw EngineError.shapeMismatch(op: op, detail: "rank \(rank) > \(StridedView.maxRank)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw EngineError.shapeMismatch(op: op, detail: "negative size in \(shape)")
        }
        var reduced = [Bool](repeating: false, count: rank)
        for a in axes {
            let axis = a < 0 ? a + rank : a
            guard (0..<rank).contains(axis) else {
                throw EngineError.shapeMismatch(op: op, detail: "axis \(a) out of range for shape \(shape)")
            }
            reduced[axis] = true
        }
        let strides = StridedView.contiguousStrides(shape)
        var kept: [(Int, Int)] = [], red: [(Int, Int)] = []
        for d in 0..<rank { if reduced[d] { red.append((shape[d], strides[d])) } else { kept.append((shape[d], strides[d])) } }
        count = shape.reduce(1, *)
        outCount = kept.reduce(1) { $0 * $1.0 }
        reducedCount = red.reduce(1) { $0 * $1.0 }
        (keptShape, keptStrides) = ReducePlan.merge(kept)
        (reducedShape, reducedStrides) = ReducePlan.merge(red)
    }

    /// Drops size-1 dimensions and merges `(n0, s0), (n1, s1)` into `(n0·n1, s1)` when `s0 == n1·s1`.
    static func merge(_ dims: [(Int, Int)]) -> ([Int], [Int]) {
        var shape: [Int] = [], strides: [Int] = []
        for (n, s) in dims where n != 1 {
            if let last = shape.indices.last, strides[last] == n * s {
                shape[last] *= n
                strides[last] = s
            } else {
                shape.append(n)
                strides.append(s)
            }
        }
        return (shape, strides)
    }

    /// Input offset of output element `o` (row-major over `keptShape`).
    func keptOffset(_ o: Int) -> Int {
        var rem = o, off = 0
        for d in stride(from: keptShape.count - 1, through: 0, by: -1) {
            off += (rem % keptShape[d]) * keptStrides[d]
            rem /= keptShape[d]
        }
        return off
    }
}

/// A strided copy of `shape` from one view to another with size-1 dimensions dropped and dimensions
/// merged where both views are contiguous across them (a plain contiguous copy becomes rank 1).
struct CopyPlan {
    var shape: [Int], srcStrides: [Int], dstStrides: [Int]
    var count: Int

    /// Checks ranks and that every element read and written lies inside its buffer; throws
    /// `shapeMismatch` naming `op`.
    init(_ src: StridedView, _ dst: StridedView, shape: [Int], op: String = "copy") throws {
        let rank = shape.count
        guard rank <= StridedView.maxRank, src.strides.count == rank, dst.strides.count == rank else {
            throw EngineError.shapeMismatch(op: op, detail: "shape \(shape), src strides \(src.strides), dst strides \(dst.strides) (rank ≤ \(StridedView.maxRank))")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw EngineError.shapeMismatch(op: op, detail: "negative size in \(shape)")
        }
        count = shape.reduce(1, *)
        self.shape = []; srcStrides = []; dstStrides = []
        guard count > 0 else { return }
        for (view, name) in [(src, "src"), (dst, "dst")] {
            var lo = view.offset, hi = view.offset
            for d in 0..<rank {
                let span = (shape[d] - 1) * view.strides[d]
                if span < 0 { lo += span } else { hi += span }
            }
            guard lo >= 0, hi < view.buffer.count else {
                throw EngineError.shapeMismatch(op: op, detail: "\(name) view (offset \(view.offset), strides \(view.strides)) of shape \(shape) reaches [\(lo), \(hi)] outside its \(view.buffer.count) elements")
            }
        }
        for d in 0..<rank where shape[d] != 1 {
            let n = shape[d], s = src.strides[d], t = dst.strides[d]
            if let last = self.shape.indices.last, srcStrides[last] == n * s, dstStrides[last] == n * t {
                self.shape[last] *= n
                srcStrides[last] = s
                dstStrides[last] = t
            } else {
                self.shape.append(n)
                srcStrides.append(s)
                dstStrides.append(t)
            }
        }
    }
}

// MARK: - Argument checks

extension AdamStep {
    /// Throws `shapeMismatch` unless `step ≥ 1` and every slot's buffers hold its `count` elements.
    func validate(_ slots: [AdamSlot]) throws {
        guard step >= 1 else {
            throw EngineError.shapeMismatch(op: "adamStep", detail: "step \(step) < 1 (bias correction needs a 1-based step)")
        }
        for (k, s) in slots.enumerated() {
            try checkCount("adamStep slot \(k)", [s.param, s.grad, s.m, s.v], count: s.count)
        }
    }
}

/// Throws `shapeMismatch` unless every EMA slot's buffers hold its `count` elements.
func validate(_ slots: [EMASlot]) throws {
    for (k, s) in slots.enumerated() { try checkCount("emaUpdate slot \(k)", [s.ema, s.param], count: s.count) }
}

/// Throws `shapeMismatch` naming `op` unless `0 ≤ count` and every buffer holds `count` elements.
func checkCount(_ op: String, _ buffers: [any Buffer], count: Int) throws {
    guard count >= 0, buffers.allSatisfy({ $0.count >= count }) else {
        throw EngineError.shapeMismatch(op: op, detail: "count \(count) with buffers of \(buffers.map(\.count))")
    }
}
