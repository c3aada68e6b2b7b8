// Strided copy of the OpenCL backend (layout.cl).
extension OpenCLBackend {
    /// One work-item per element of the (merged) `CopyPlan` shape.
    public func copy(_ src: StridedView, to dst: StridedView, shape: [Int]) throws {
        let plan = try CopyPlan(src, dst, shape: shape)
        guard plan.count > 0 else { return }
        guard src.buffer.count <= Int(Int32.max), dst.buffer.count <= Int(Int32.max) else {
            throw EngineError.shapeMismatch(op: "copy", detail: "buffers beyond the 32-bit indexing of layout.cl")
        }
        try launch("layout", "copy_strided", global: [plan.count], local: [Self.localSize1D],
                   [.buffer(src.buffer), .int(src.offset), .int8(plan.srcStrides, pad: 0),
                    .buffer(dst.buffer), .int(dst.offset), .int8(plan.dstStrides, pad: 0),
                    .int8(plan.shape, pad: 1), .int(plan.shape.count), .int(plan.count)])
    }
}
