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
        forEachStrided(plan.shape, [plan.srcStrides, plan.dstStrides]) { _, offs in
            pd[offs[1]] = ps[offs[0]]
        }
    }
}
