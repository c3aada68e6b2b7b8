// Batch normalisation (Ioffe & Szegedy 2015), composed of reduce / elementwise primitives.

/// Per-channel statistics of a batch-norm input, for the running averages of inference.
public struct BatchStatistics {
    /// Mean over every axis but 1, `[C]`.
    public let mean: Tensor
    /// Biased variance `E[(x − mean)²]` over every axis but 1, `[C]`.
    public let variance: Tensor
    /// Elements per channel (N·H·W), for the unbiased variance `variance · n/(n − 1)`.
    public let countPerChannel: Int
}

extension Tensor {
    /// Batch normalisation of x `[N, C]` or `[N, C, H, W]` with per-channel `gamma`, `beta` `[C]`:
    ///
    /// 1. training (`statistics == nil`): `μ = mean(x)`, `σ² = mean((x − μ)²)` over every axis but 1;
    ///    inference: μ, σ² are the given running statistics (constants);
    /// 2. `y = (x − μ)·rsqrt(σ² + eps)·γ + β`.
    ///
    /// Returns y and, in training, the batch statistics (detached) for the running averages. Gradients flow
    /// through μ and σ² as well (the full batch-norm VJP), to x, gamma and beta.
    public static func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, running statistics: (mean: Tensor, variance: Tensor)? = nil,
                                 epsilon: Float = 1e-5) throws -> (output: Tensor, batch: BatchStatistics?) {
        guard x.rank == 2 || x.rank == 4, gamma.shape == [x.shape[1]], beta.shape == gamma.shape else {
            throw EngineError.shapeMismatch(op: "batchNorm", detail: "input \(x.shape), gamma \(gamma.shape), beta \(beta.shape)")
        }
        let c = x.shape[1]
        let channelShape = x.rank == 4 ? [1, c, 1, 1] : [1, c]
        let axes = x.rank == 4 ? [0, 2, 3] : [0]
        let mean: Tensor, variance: Tensor, centred: Tensor
        var batch: BatchStatistics?
        if let statistics {
            guard statistics.mean.shape == [c], statistics.variance.shape == [c] else {
                throw EngineError.shapeMismatch(op: "batchNorm", detail: "running statistics \(statistics.mean.shape) for \(c) channels")
            }
            mean = try statistics.mean.detached().reshaped(channelShape)
            centred = try x - mean
            variance = try statistics.variance.detached().reshaped(channelShape)
        } else {
            guard x.count / c > 1 else {
                throw EngineError.shapeMismatch(op: "batchNorm", detail: "one value per channel in \(x.shape): no batch statistics")
            }
            mean = try x.mean(axes: axes, keepDims: true)
            centred = try x - mean
            variance = try centred.map(.square).mean(axes: axes, keepDims: true)
            batch = BatchStatistics(mean: try mean.detached().reshaped([c]), variance: try variance.detached().reshaped([c]),
                                    countPerChannel: x.count / c)
        }
        let scale = try (variance + epsilon).map(.rsqrt) * gamma.reshaped(channelShape)
        return (try centred * scale + beta.reshaped(channelShape), batch)
    }
}
