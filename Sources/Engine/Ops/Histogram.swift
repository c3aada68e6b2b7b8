// HistoGAN's soft RGB-uv histogram on tensors, over `Backend.rgbuvHistogram(Backward)`.

extension Tensor {
    /// The RGB-uv histogram `[N, 3, bins, bins]` of images `[N, 3, H, W]` (HistoGAN `RGBuvHistBlock`,
    /// DESIGN.md section 6), computed for the whole batch at once:
    /// 1. clamp every value to [0, 1];
    /// 2. when `H > maxSize` or `W > maxSize`: bilinear resize to `maxSize × maxSize` (`interpolation`,
    ///    PyTorch `align_corners=False`) or keep rows/columns `floor(linspace(0, H, bins, endpoint=False))`
    ///    (`sampling`);
    /// 3. per pixel `Iy = sqrt(R² + G² + B² + 1e-6)` and for channel c with the other two (a, b)
    ///    (R: G, B; G: R, B; B: R, G) `u = log(c + 1e-6) − log(a + 1e-6)`, `v = log(c + 1e-6) − log(b + 1e-6)`;
    /// 4. `H[c, i, j] = Σ_pixels Iy · k(|u − t_i|) · k(|v − t_j|)` with `t = linspace(−3, 3, bins)`;
    /// 5. divide each image's `[3, bins, bins]` by (its total + 1e-6).
    public static func rgbuvHistogram(_ images: Tensor, options: HistogramOptions = HistogramOptions()) throws -> Tensor {
        let shape = try histogramShape(images, options: options, op: "rgbuvHistogram")
        let out = try Tensor.empty([shape.batch, 3, shape.bins, shape.bins], on: images.backend)
        try Profiler.measure("rgbuvHistogram", images.backend) {
            try images.backend.rgbuvHistogram(shape, image: images.buffer, output: out.buffer)
        }
        // First-order VJP through the fused backward kernel (the histogram loss needs no second order).
        let input = images.detached()
        return out.recorded("rgbuvHistogram", [images]) { g in
            [try rgbuvHistogramGradient(input, gradOutput: g.detached(), histogram: out, options: options)]
        }
    }

    /// The `HistogramShape` of images `[N, 3, H, W]`; throws `shapeMismatch` for any other rank or
    /// channel count.
    static func histogramShape(_ images: Tensor, options: HistogramOptions, op: String) throws -> HistogramShape {
        guard images.rank == 4, images.shape[1] == 3 else {
            throw EngineError.shapeMismatch(op: op, detail: "images must be [N, 3, H, W], got \(images.shape)")
        }
        let shape = HistogramShape(batch: images.shape[0], height: images.shape[2], width: images.shape[3], options: options)
        try shape.validate(op)
        return shape
    }
}

/// The vector-Jacobian product of `Tensor.rgbuvHistogram`: the gradient `[N, 3, H, W]` of
/// `Σ gradOutput · rgbuvHistogram(images)` w.r.t. `images`, through the normalisation, `Iy`, the logs,
/// the kernel (zero for `threshold`, except through `Iy`), the resize and the clamp (zero outside
/// [0, 1]). `histogram` is the forward result when the caller has it (it is recomputed otherwise).
/// The autograd rule of `rgbuvHistogram` calls it; it is itself not differentiable (first order only).
public func rgbuvHistogramGradient(_ images: Tensor, gradOutput: Tensor, histogram: Tensor? = nil,
                                   options: HistogramOptions = HistogramOptions()) throws -> Tensor {
    let shape = try Tensor.histogramShape(images, options: options, op: "rgbuvHistogramGradient")
    let expected = [shape.batch, 3, shape.bins, shape.bins]
    guard gradOutput.shape == expected, histogram.map({ $0.shape == expected }) ?? true else {
        throw EngineError.shapeMismatch(op: "rgbuvHistogramGradient",
                                        detail: "gradOutput \(gradOutput.shape), histogram \(histogram?.shape ?? []), expected \(expected)")
    }
    let backend = images.backend
    guard gradOutput.backend === backend, histogram.map({ $0.backend === backend }) ?? true else {
        throw EngineError.foreignBuffer(op: "rgbuvHistogramGradient")
    }
    let forward = try histogram ?? Tensor.rgbuvHistogram(images, options: options)
    let grad = try Tensor.empty(images.shape, on: backend)
    try Profiler.measure("rgbuvHistogramBackward", backend) {
        try backend.rgbuvHistogramBackward(shape, image: images.buffer, histogram: forward.buffer,
                                           gradOutput: gradOutput.buffer, gradImage: grad.buffer)
    }
    return grad
}
