// The index walk shared by the CPU backend's strided elementwise kernels (binary, select, copy).
//
// An elementwise kernel visits every index of `shape` in row-major order; element `i` of the output
// is `i` itself and operand `v` sits at `Σ idx[d]·strides[v][d]`. Two things make that cheap:
//   1. `StridedLoop.init` drops size-1 dimensions and merges neighbours that every operand steps
//      through as one (same shape contiguous → rank 1 with stride 1; a per-channel bias
//      `[N,C,H,W] + [1,C,1,1]` → `[N, C, H·W]` whose inner run reads the bias as a constant).
//   2. `forEachRun` hands the kernel whole runs of the innermost merged dimension (start, per-operand
//      offsets, length), so the kernel's inner loop is a tight pointer loop the caller specialises on
//      the inner strides (1 = contiguous, 0 = constant along the run). The flat range is split over
//      threads; a chunk may start or end inside a run.

/// Row-major iteration over a merged index space with up to four strided operands.
struct StridedLoop {
    /// Merged dimensions, outermost first; at least one (a scalar is `[1]`).
    let shape: [Int]
    /// Per dimension, the stride of each operand (lane v = operand v; unused lanes 0).
    let strides: [SIMD4<Int>]
    /// Number of elements.
    let count: Int

    /// `operandStrides[v]` are operand v's strides over `shape` (at most 4 operands, each of rank
    /// `shape.count`).
    init(shape fullShape: [Int], strides operandStrides: [[Int]]) {
        precondition(operandStrides.count <= 4 && operandStrides.allSatisfy { $0.count == fullShape.count },
                     "StridedLoop: at most 4 operands, each of rank \(fullShape.count)")
        count = fullShape.reduce(1, *)
        var shape: [Int] = [], strides: [SIMD4<Int>] = []
        for d in fullShape.indices where fullShape[d] != 1 {
            let n = fullShape[d]
            var s = SIMD4<Int>()
            for v in operandStrides.indices { s[v] = operandStrides[v][d] }
            // (n0, s0), (n, s) → (n0·n, s) when every operand has s0 == n·s.
            if let last = strides.last, last == s &* n {
                shape[shape.count - 1] *= n
                strides[strides.count - 1] = s
            } else {
                shape.append(n)
                strides.append(s)
            }
        }
        if shape.isEmpty { shape = [1]; strides = [SIMD4<Int>()] }
        self.shape = shape
        self.strides = strides
    }

    /// Per-operand strides of the innermost merged dimension (the stride inside a run).
    var innerStrides: SIMD4<Int> { strides[strides.count - 1] }

    /// Calls `body(start, offsets, length)` for consecutive runs covering every element exactly once:
    /// elements `start ..< start + length` of the output, where operand v's first element is at
    /// `offsets[v]` and the next ones follow at `innerStrides[v]`. Chunks of at least `grain`
    /// elements run in parallel on `backend`'s threads; runs never cross a chunk boundary.
    func forEachRun(on backend: CPUBackend, grain: Int, _ body: (Int, SIMD4<Int>, Int) -> Void) {
        guard count > 0 else { return }
        let rank = shape.count, inner = shape[rank - 1], step = innerStrides
        backend.parallelFor(count, grain: grain) { chunk in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { idx in
                // Index and offsets of the chunk's first element.
                var rem = chunk.lowerBound, off = SIMD4<Int>()
                for d in stride(from: rank - 1, through: 0, by: -1) {
                    idx[d] = rem % shape[d]
                    rem /= shape[d]
                    off &+= strides[d] &* idx[d]
                }
                var i = chunk.lowerBound
                while i < chunk.upperBound {
                    let run = Swift.min(inner - idx[rank - 1], chunk.upperBound - i)
                    body(i, off, run)
                    i += run
                    // Odometer: step the innermost index by `run`, carrying into outer dimensions.
                    idx[rank - 1] += run
                    off &+= step &* run
                    var d = rank - 1
                    while d > 0, idx[d] == shape[d] {
                        off &-= strides[d] &* shape[d]
                        idx[d] = 0
                        d -= 1
                        idx[d] += 1
                        off &+= strides[d]
                    }
                }
            }
        }
    }
}
