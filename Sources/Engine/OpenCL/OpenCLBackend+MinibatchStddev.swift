// Minibatch standard deviation on the OpenCL backend (minibatch_stddev.cl). Semantics: Backend.swift.
extension OpenCLBackend {
    public func minibatchStddev(_ shape: MinibatchStddevShape, x: any Buffer, y: any Buffer) throws {
        try shape.validate("minibatchStddev", [("x", x, shape.inputCount), ("y", y, shape.outputCount)])
        try launch("minibatch_stddev", "mbstd_fwd", global: [shape.groups * Self.localSize1D], local: [Self.localSize1D],
                   [.buffer(x), .buffer(y)] + Self.minibatchArgs(shape))
    }

    public func minibatchStddevBackward(_ shape: MinibatchStddevShape, x: any Buffer, gradOutput dy: any Buffer,
                                        gradInput dx: any Buffer) throws {
        try shape.validate("minibatchStddevBackward", [("x", x, shape.inputCount), ("gradOutput", dy, shape.outputCount),
                                                       ("gradInput", dx, shape.inputCount)])
        try launch("minibatch_stddev", "mbstd_bwd", global: [shape.groups * Self.localSize1D], local: [Self.localSize1D],
                   [.buffer(x), .buffer(dy), .buffer(dx)] + Self.minibatchArgs(shape))
    }

    /// N, G, C·H·W, H·W, ε and the work-group's scratch.
    private static func minibatchArgs(_ s: MinibatchStddevShape) -> [KernelArg] {
        [.int(Int32(s.batch)), .int(Int32(s.group)), .int(Int32(s.sampleCount)), .int(Int32(s.height * s.width)),
         .float(s.epsilon), .local(localSize1D * 4)]
    }
}
