// Batch normalisation on the OpenCL backend (batch_norm.cl). Semantics: Backend.swift.
extension OpenCLBackend {
    public func batchNormStatistics(_ shape: BatchNormShape, x: any Buffer, mean: any Buffer, variance: any Buffer) throws {
        try shape.validate("batchNormStatistics", x: x, perChannel: [("mean", mean), ("variance", variance)])
        let group = 64
        try launch("batch_norm", "batch_norm_stats", global: [shape.channels * group], local: [group],
                   [.buffer(x), .buffer(mean), .buffer(variance), .int(shape.outer), .int(shape.channels), .int(shape.inner),
                    .local(group * 4)])
    }

    public func batchNormApply(_ shape: BatchNormShape, x: any Buffer, mean: any Buffer, variance: any Buffer,
                               gamma: any Buffer, beta: any Buffer, y: any Buffer) throws {
        try shape.validate("batchNormApply", x: x, perChannel: [("mean", mean), ("variance", variance), ("gamma", gamma), ("beta", beta)], y: y)
        try launch("batch_norm", "batch_norm_apply", global: [shape.count], local: [Self.localSize1D],
                   [.buffer(x), .buffer(mean), .buffer(variance), .buffer(gamma), .buffer(beta), .buffer(y),
                    .int(shape.count), .int(shape.channels), .int(shape.inner), .float(shape.epsilon)])
    }
}
