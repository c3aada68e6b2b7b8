import Foundation

// Log-softmax on the CPU backend (log_softmax.cl on OpenCL). Semantics: Backend.swift.
extension CPUBackend {
    public func logSoftmax(rows: Int, classes: Int, x: any Buffer, y: any Buffer) throws {
        try Self.validateLogSoftmax(rows: rows, classes: classes, x: x, y: y)
        let src = try ptr(x, "logSoftmax"), dst = try ptr(y, "logSoftmax")
        parallelFor(rows, grain: max(1, 4096 / classes)) { range in
            for r in range {
                let row = src + r * classes, out = dst + r * classes
                var m = row[0]
                for j in 1..<max(classes, 1) { m = Swift.max(m, row[j]) }
                var total: Float = 0
                for j in 0..<classes { total += Foundation.exp(row[j] - m) }
                let shift = m + Foundation.log(total)
                for j in 0..<classes { out[j] = row[j] - shift }
            }
        }
    }

    /// Shape checks of `logSoftmax`, shared by both backends.
    static func validateLogSoftmax(rows: Int, classes: Int, x: any Buffer, y: any Buffer) throws {
        guard rows > 0, classes > 0 else { throw EngineError.shapeMismatch(op: "logSoftmax", detail: "\(rows) rows of \(classes) classes") }
        for (name, b) in [("x", x), ("y", y)] where b.count < rows * classes {
            throw EngineError.shapeMismatch(op: "logSoftmax", detail: "\(name) buffer holds \(b.count) floats, [\(rows), \(classes)] needs \(rows * classes)")
        }
    }
}
