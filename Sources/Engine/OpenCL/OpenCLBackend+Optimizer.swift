// Fused optimizer steps of the OpenCL backend (optimizer.cl).
extension OpenCLBackend {
    public func adamStep(_ step: AdamStep, param: any Buffer, grad: any Buffer, m: any Buffer, v: any Buffer, count: Int) throws {
        try step.validate([param, grad, m, v], count: count)
        try launch("optimizer", "adam_step", global: [count], local: [Self.localSize1D],
                   [.buffer(param), .buffer(grad), .buffer(m), .buffer(v), .int(count),
                    .float(step.learningRate), .float(step.beta1), .float(step.beta2), .float(step.epsilon),
                    .float(step.biasCorrection1), .float(step.biasCorrection2), .float(step.gradScale)])
    }

    public func emaUpdate(_ ema: any Buffer, toward param: any Buffer, beta: Float, count: Int) throws {
        try checkCount("emaUpdate", [ema, param], count: count)
        try launch("optimizer", "ema_update", global: [count], local: [Self.localSize1D],
                   [.buffer(ema), .buffer(param), .int(count), .float(beta)])
    }
}
