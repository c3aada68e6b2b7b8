// The RGB-uv histogram composed of generic primitives (elementwise, layout, GEMM, reduce): the slow
// reference of the fused `rgbuvHistogram` kernel, with the same signature (DESIGN.md section 6).

extension Tensor {
    /// `rgbuvHistogram` built from generic ops, step by step as HistoGAN's `RGBuvHistBlock`:
    /// 1. clamp to [0, 1];
    /// 2. reduce with dense resize matrices (`R_y · x · R_xᵀ`: bilinear taps or 0/1 sampling rows);
    /// 3. `Iy = sqrt(R² + G² + B² + eps)`, `L = log(x + eps)`, u and v per channel;
    /// 4. `K_u[n, c, p, i] = k(u − t_i)`, likewise `K_v`, by broadcasting against the bin centres;
    /// 5. `H = (Iy·K_u)ᵀ · K_v` (a batched GEMM per image and channel), divided by (its total + eps).
    /// Memory grows as `N·3·P·bins`; meant for tests, not training.
    public static func rgbuvHistogramReference(_ images: Tensor, options: HistogramOptions = HistogramOptions()) throws -> Tensor {
        let s = try histogramShape(images, options: options, op: "rgbuvHistogramReference")
        let backend = images.backend
        let (n, bins, eps) = (s.batch, s.bins, HistogramShape.epsilon)
        func scalar(_ v: Float) throws -> Tensor { try Tensor([v], shape: [1], on: backend) }
        // [N, 3, H, W] clamped, then [N, 3, bh, bw].
        var x = try Tensor.binary(.minimum, Tensor.binary(.maximum, images, scalar(0)), scalar(1))
        if s.reduces {
            let (ry, rx) = try resizeMatrices(s, on: backend)                     // [bh, H], [bw, W]
            let rows = try Tensor.matmul(x, rx, transposeB: true)                   // [N, 3, H, bw]
            x = try Tensor.matmul(rows, ry, transposeA: true, transposeB: true)     // [N, 3, bw, bh]
            x = try x.permuted([0, 1, 3, 2])                                        // [N, 3, bh, bw]
        }
        x = try x.reshaped([n, 3, s.pixels])
        let channel = try (0..<3).map { try x.sliced(axis: 1, $0..<($0 + 1)) }     // [N, 1, P] each
        let iy = try (channel[0] * channel[0] + channel[1] * channel[1] + channel[2] * channel[2] + eps).map(.sqrt)
        let l = try channel.map { try ($0 + eps).map(.log) }
        let u = try Tensor.concat([l[0] - l[1], l[1] - l[0], l[2] - l[0]], axis: 1).reshaped([n, 3, s.pixels, 1])
        let v = try Tensor.concat([l[0] - l[2], l[1] - l[2], l[2] - l[1]], axis: 1).reshaped([n, 3, s.pixels, 1])
        let centres = try Tensor(s.binCentres, shape: [1, 1, 1, bins], on: backend)
        let ku = try kernelValues(u - centres, s) * iy.reshaped([n, 1, s.pixels, 1])  // [N, 3, P, bins]
        let kv = try kernelValues(v - centres, s)
        let g = try Tensor.matmul(ku, kv, transposeA: true)                       // [N, 3, bins, bins]
        let total = try g.sum(axes: [1, 2, 3], keepDims: true) + eps
        return try g / total
    }

    /// k(d) elementwise: inverse-quadratic, Gaussian or threshold (`1 − [|d| > (6/bins)/2]`).
    static func kernelValues(_ d: Tensor, _ s: HistogramShape) throws -> Tensor {
        let sigma = Double(s.options.sigma)
        let inverse = Float(1 / (sigma * sigma))
        switch s.options.kernel {
        case .inverseQuadratic: return try d.map(.square).map(.scale(inverse)).map(.addScalar(1)).map(.reciprocal)
        case .gaussian: return try d.map(.square).map(.scale(-inverse)).map(.exp)
        case .threshold: return try d.map(.abs).map(.step(threshold: s.thresholdHalfWidth)).map(.scale(-1)).map(.addScalar(1))
        }
    }

    /// Dense resize matrices `[binnedHeight, H]` and `[binnedWidth, W]`: bilinear taps (PyTorch
    /// `align_corners=False`) or one 1 per row at the sampled index.
    static func resizeMatrices(_ s: HistogramShape, on backend: any Backend) throws -> (Tensor, Tensor) {
        func matrix(_ input: Int, _ output: Int) throws -> Tensor {
            var m = [Float](repeating: 0, count: output * input)
            if s.options.resize == .sampling {
                for (o, i) in s.sampleIndices(input).enumerated() { m[o * input + i] = 1 }
            } else {
                for (o, tap) in LinearTap.taps(input: input, output: output).enumerated() {
                    m[o * input + tap.i0] += tap.w0
                    m[o * input + tap.i1] += tap.w1
                }
            }
            return try Tensor(m, shape: [output, input], on: backend)
        }
        return (try matrix(s.height, s.binnedHeight), try matrix(s.width, s.binnedWidth))
    }
}
