// Strided copy of the CPU backend (layout.cl on OpenCL): permute, slice, concat, expand and repeat.
extension CPUBackend {
    /// Copies every index of `shape` from `src` to `dst` through their offsets and strides
    /// (dimensions merged by `CopyPlan`, so a contiguous copy is one `memcpy`-like loop per chunk).
    /// `dst` must not overlap `src` and must not map two indices to one element.
    public func copy(_ src: StridedView, to dst: StridedView, shape: [Int]) throws {
        let plan = try CopyPlan(src, dst, shape: shape)
        let ps = try ptr(src.buffer, "copy") + src.offset, pd = try ptr(dst.buffer, "copy") + dst.offset
        guard plan.count > 0 else { return }
        if plan.shape.count == 1, plan.srcStrides[0] == 1, plan.dstStrides[0] == 1 {
            parallelFor(plan.count, grain: 1 << 16) { r in
                (pd + r.lowerBound).update(from: ps + r.lowerBound, count: r.count)
            }
            return
        }
        // Runs of the innermost merged dimension; a run contiguous on both sides is one block copy.
        let loop = StridedLoop(shape: plan.shape, strides: [plan.srcStrides, plan.dstStrides])
        let s = loop.innerStrides[0], d = loop.innerStrides[1]
        loop.forEachRun(on: self, grain: 1 << 14) { _, off, n in
            let from = ps + off[0], to = pd + off[1]
            if s == 1 && d == 1 { to.update(from: from, count: n) }
            else { for j in 0..<n { to[j * d] = from[j * s] } }
        }
    }
}
