// Log-softmax on the OpenCL backend (log_softmax.cl). Semantics: Backend.swift.
extension OpenCLBackend {
    public func logSoftmax(rows: Int, classes: Int, x: any Buffer, y: any Buffer) throws {
        try CPUBackend.validateLogSoftmax(rows: rows, classes: classes, x: x, y: y)
        try launch("log_softmax", "log_softmax_fwd", global: [rows], local: [64],
                   [.buffer(x), .buffer(y), .int(rows), .int(classes)])
    }
}
