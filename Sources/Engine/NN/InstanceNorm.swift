extension Tensor {
    /// Instance normalisation without affine parameters (torch `InstanceNorm2d`): per sample and channel,
    /// `y = (x − mean_hw x) / √(var_hw x + eps)` with the biased variance. x `[N, C, H, W]`. Composed of
    /// reductions and elementwise ops, so it runs and differentiates on every backend.
    public func instanceNormalized(eps: Float = 1e-5) throws -> Tensor {
        guard rank == 4 else { throw EngineError.shapeMismatch(op: "instanceNormalized", detail: "\(shape), expected [N, C, H, W]") }
        let centred = try self - mean(axes: [2, 3], keepDims: true)
        return try centred * (centred.map(.square).mean(axes: [2, 3], keepDims: true) + eps).map(.rsqrt)
    }
}
