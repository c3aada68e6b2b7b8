// Batch normalisation (Ioffe & Szegedy 2015): fused kernels `Backend.batchNormStatistics` / `batchNormApply`
// (batch_norm.cl), a VJP written with Engine ops, and `batchNormReference` composed of other primitives.

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
    /// Checks x `[N, C]` or `[N, C, H, W]` against gamma, beta `[C]`; returns the reduced axes and `[1, C(, 1, 1)]`.
    static func batchNormAxes(_ x: Tensor, gamma: Tensor, beta: Tensor) throws -> (axes: [Int], channelShape: [Int]) {
        guard x.rank == 2 || x.rank == 4, gamma.shape == [x.shape[1]], beta.shape == gamma.shape else {
            throw EngineError.shapeMismatch(op: "batchNorm", detail: "input \(x.shape), gamma \(gamma.shape), beta \(beta.shape)")
        }
        return x.rank == 4 ? ([0, 2, 3], [1, x.shape[1], 1, 1]) : ([0], [1, x.shape[1]])
    }

    /// Batch normalisation of x `[N, C]` or `[N, C, H, W]` with per-channel `gamma`, `beta` `[C]`:
    ///
    /// 1. training (`running == nil`): `μ = mean(x)`, `σ² = mean((x − μ)²)` over every axis but 1 (one kernel);
    ///    inference: μ, σ² are the given running statistics (constants);
    /// 2. `y = (x − μ)·rsqrt(σ² + eps)·γ + β` (one kernel).
    ///
    /// Returns y and, in training, the batch statistics (detached) for the running averages. The VJP (through μ
    /// and σ² in training: `dx = γ·r·(g − mean(g) − x̂·mean(g·x̂))`, x̂ = (x − μ)·r, r = rsqrt(σ² + eps)) is
    /// written with Engine ops that recompute μ, σ² from x, so it can be differentiated again.
    public static func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, running statistics: (mean: Tensor, variance: Tensor)? = nil,
                                 epsilon: Float = 1e-5) throws -> (output: Tensor, batch: BatchStatistics?) {
        let (axes, channelShape) = try batchNormAxes(x, gamma: gamma, beta: beta)
        let c = x.shape[1]
        let s = BatchNormShape(outer: x.shape[0], channels: c, inner: x.count / max(x.shape[0] * c, 1), epsilon: epsilon)
        let mean: Tensor, variance: Tensor
        if let statistics {
            guard statistics.mean.shape == [c], statistics.variance.shape == [c] else {
                throw EngineError.shapeMismatch(op: "batchNorm", detail: "running statistics \(statistics.mean.shape) for \(c) channels")
            }
            (mean, variance) = (statistics.mean.detached(), statistics.variance.detached())
        } else {
            guard x.count / c > 1 else {
                throw EngineError.shapeMismatch(op: "batchNorm", detail: "one value per channel in \(x.shape): no batch statistics")
            }
            (mean, variance) = (try Tensor.empty([c], on: x.backend), try Tensor.empty([c], on: x.backend))
            try Profiler.measure("batchNormStatistics", x.backend) {
                try x.backend.batchNormStatistics(s, x: x.buffer, mean: mean.buffer, variance: variance.buffer)
            }
        }
        let y = try Tensor.empty(x.shape, on: x.backend)
        try Profiler.measure("batchNormApply", x.backend) {
            try x.backend.batchNormApply(s, x: x.buffer, mean: mean.buffer, variance: variance.buffer, gamma: gamma.buffer,
                                         beta: beta.buffer, y: y.buffer)
        }
        let training = statistics == nil
        let out = y.recorded("batchNorm", [x, gamma, beta]) { g in
            let gam = try gamma.reshaped(channelShape)
            let dbeta = try g.sum(axes: axes).reshaped([c])
            if training {
                let centred = try x - x.mean(axes: axes, keepDims: true)
                let r = try (centred.map(.square).mean(axes: axes, keepDims: true) + epsilon).map(.rsqrt)
                let xhat = try centred * r
                let gx = try g * xhat
                let dx = try (g - g.mean(axes: axes, keepDims: true) - xhat * gx.mean(axes: axes, keepDims: true)) * (r * gam)
                return [dx, try gx.sum(axes: axes).reshaped([c]), dbeta]
            }
            let r = try (variance.reshaped(channelShape) + epsilon).map(.rsqrt)
            let xhat = try (x - mean.reshaped(channelShape)) * r
            return [try g * (r * gam), try (g * xhat).sum(axes: axes).reshaped([c]), dbeta]
        }
        let batch = training ? BatchStatistics(mean: mean, variance: variance, countPerChannel: x.count / c) : nil
        return (out, batch)
    }

    /// Reference for `batchNorm` composed of reduce / elementwise primitives (autograd supplies the VJP).
    public static func batchNormReference(_ x: Tensor, gamma: Tensor, beta: Tensor, running statistics: (mean: Tensor, variance: Tensor)? = nil,
                                          epsilon: Float = 1e-5) throws -> Tensor {
        let (axes, channelShape) = try batchNormAxes(x, gamma: gamma, beta: beta)
        let mean = try statistics.map { try $0.mean.detached().reshaped(channelShape) } ?? x.mean(axes: axes, keepDims: true)
        let centred = try x - mean
        let variance = try statistics.map { try $0.variance.detached().reshaped(channelShape) }
            ?? centred.map(.square).mean(axes: axes, keepDims: true)
        return try centred * ((variance + epsilon).map(.rsqrt) * gamma.reshaped(channelShape)) + beta.reshaped(channelShape)
    }
}
