// Log-softmax over the last axis: a fused kernel (`Backend.logSoftmax`, log_softmax.cl) with a VJP written with
// Engine ops, and `logSoftmaxReference` composed of reduce / elementwise primitives; cross-entropy and one-hot.

extension Tensor {
    /// `log softmax(x)` over the last axis, `y = (x − m) − log Σ_j exp(x_j − m)` with `m = max_j x_j`, in one kernel.
    /// x `[..., K]`. VJP: `dx = g − softmax(x)·Σ_k g_k`, with softmax(x) = exp(logSoftmax(x)) recorded, so the
    /// gradient can be differentiated again.
    public func logSoftmax() throws -> Tensor {
        guard rank >= 1, shape[rank - 1] > 0 else {
            throw EngineError.shapeMismatch(op: "logSoftmax", detail: "shape \(shape) has no classes")
        }
        let classes = shape[rank - 1], rows = count / classes
        let y = try Tensor.empty(shape, on: backend)
        try Profiler.measure("logSoftmax", backend) { try backend.logSoftmax(rows: rows, classes: classes, x: buffer, y: y.buffer) }
        let x = self
        return y.recorded("logSoftmax", [x]) { g in
            [try g - x.logSoftmax().map(.exp) * g.sum(axes: [x.rank - 1], keepDims: true)]
        }
    }

    /// Reference for `logSoftmax` composed of other primitives (max detached: the result does not depend on it).
    public func logSoftmaxReference() throws -> Tensor {
        guard rank >= 1, shape[rank - 1] > 0 else {
            throw EngineError.shapeMismatch(op: "logSoftmax", detail: "shape \(shape) has no classes")
        }
        let m = try reduce(.max, axes: [rank - 1], keepDims: true).detached()
        let shifted = try self - m
        let logSum = try shifted.map(.exp).sum(axes: [rank - 1], keepDims: true).map(.log)
        return try shifted - logSum
    }

    /// Mean cross-entropy `−(1/N) Σ_n Σ_k p[n,k]·log softmax(x[n])_k` of logits x `[N, K]` against target
    /// distributions p `[N, K]` (one-hot rows for class labels).
    public static func crossEntropy(logits x: Tensor, targets p: Tensor) throws -> Tensor {
        guard x.rank == 2, p.shape == x.shape else {
            throw EngineError.shapeMismatch(op: "crossEntropy", detail: "logits \(x.shape), targets \(p.shape)")
        }
        return try (x.logSoftmax() * p).sum() * (-1 / Float(x.shape[0]))
    }

    /// One-hot rows `[labels.count, classes]` (1 at `labels[n]`), built on the host. Throws for a label outside
    /// `0..<classes`.
    public static func oneHot(_ labels: [Int], classes: Int, on backend: any Backend) throws -> Tensor {
        var values = [Float](repeating: 0, count: labels.count * classes)
        for (n, k) in labels.enumerated() {
            guard (0..<classes).contains(k) else {
                throw EngineError.shapeMismatch(op: "oneHot", detail: "label \(k) at row \(n) outside 0..<\(classes)")
            }
            values[n * classes + k] = 1
        }
        return try Tensor(values, shape: [labels.count, classes], on: backend)
    }
}
