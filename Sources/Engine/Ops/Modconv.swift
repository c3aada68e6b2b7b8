// StyleGAN2 modulated convolution (NVlabs networks.modulated_conv2d), both ways NVlabs runs it:
// "fused" (fused_modconv=True: per-sample weights, grouped convolution) and "split" (fused_modconv=False:
// the shared weight, styles and demodulation applied to the activations by `scaledConv2d`).

/// How a modulated convolution runs; both compute the same function of the same parameters.
public enum ModconvMode: String, Codable, Sendable, CaseIterable {
    /// Per-sample weights w'[n] = w·s[n]·d[n] (`modulateWeights`), then a convolution with groups = batch.
    case fused
    /// x·s[n,c], one convolution with the shared weight over the whole batch, then ·d[n,o] (`scaledConv2d`):
    /// a GEMM with N·H·W columns and the weight gradient summed over the batch inside the GEMM.
    case split
}

extension Tensor {
    /// StyleGAN2 demodulation coefficients without the per-sample weights:
    /// `d[n,o] = rsqrt(Σ_{i,k} w[o,i,k]²·s[n,i]² + 1e-8) = rsqrt(s² · (Σ_k w²)ᵀ + 1e-8)`.
    /// weight `[O, I, kh, kw]`, styles `[N, I]` → `[N, O]`; differentiable to any order.
    public static func demodulationCoefficients(_ weight: Tensor, styles: Tensor) throws -> Tensor {
        guard weight.rank == 4, styles.rank == 2, styles.shape[1] == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "demodulationCoefficients", detail: "weight \(weight.shape), styles \(styles.shape)")
        }
        let (n, o, i) = (styles.shape[0], weight.shape[0], weight.shape[1])
        let shape = ModulateShape(batch: n, outChannels: o, inChannels: i, kernelSize: weight.shape[2] * weight.shape[3])
        let d = try Tensor.empty([n, o], on: weight.backend)
        try Profiler.measure("demodulation", weight.backend) {
            try weight.backend.demodulation(shape, weight: weight.buffer, styles: styles.buffer, coefficients: d.buffer)
        }
        return d.recorded("demodulation", [weight, styles]) { g in
            if Autograd.isRecording {
                // Building a differentiable graph (double backward): the VJP from primitives.
                return try demodulationVJP(weight, styles: styles, gradient: g)
            }
            let dw = try Tensor.empty(weight.shape, on: g.backend), ds = try Tensor.empty(styles.shape, on: g.backend)
            try Profiler.measure("demodulationBackward", g.backend) {
                try g.backend.demodulationBackward(shape, weight: weight.buffer, styles: styles.buffer, coefficients: d.buffer,
                                                   gradCoefficients: g.buffer, gradWeight: dw.buffer, gradStyles: ds.buffer)
            }
            return [dw, ds]
        }
    }

    /// `demodulationCoefficients` composed of differentiable ops (`rsqrt(s² · (Σ_k w²)ᵀ + 1e-8)`): the reference
    /// for the kernels.
    public static func demodulationCoefficientsReference(_ weight: Tensor, styles: Tensor) throws -> Tensor {
        let w2 = try weight.sumOfSquares(axes: [2, 3]).reshaped([weight.shape[0], weight.shape[1]])   // [O, I]
        return try (matmul(styles.map(.square), w2, transposeB: true) + 1e-8).map(.rsqrt)
    }

    /// Gradients (weight, styles) of `demodulationCoefficients` for output gradient `g`, from differentiable ops:
    /// with W2 = Σ_k w², d = rsqrt(s²·W2ᵀ + ε) and t = g·d³: ds = −s·(t·W2), dw = −w·(tᵀ·s²).
    static func demodulationVJP(_ weight: Tensor, styles: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (o, i) = (weight.shape[0], weight.shape[1])
        let w2 = try weight.sumOfSquares(axes: [2, 3]).reshaped([o, i])
        let s2 = try styles.map(.square)
        let d = try (matmul(s2, w2, transposeB: true) + 1e-8).map(.rsqrt)
        let t = try g * d * d * d                                                          // [N, O]
        let ds = try styles * matmul(t, w2, alpha: -1)                                     // [N, I]
        let dw = try weight * matmul(t, s2, transposeA: true, alpha: -1).reshaped([o, i, 1, 1])
        return [dw, ds]
    }

    /// Per-sample modulated weights `w'[n,o,i,ky,kx] = w[o,i,ky,kx]·s[n,i]·d[n,o]`,
    /// `d = rsqrt(Σ_{i,ky,kx} (w·s)² + 1e-8)` when `demodulate`. weight `[O, I, kh, kw]`, styles `[N, I]`
    /// → `[N, O, I, kh, kw]`.
    public static func modulateWeights(_ weight: Tensor, styles: Tensor, demodulate: Bool) throws -> Tensor {
        guard weight.rank == 4, styles.rank == 2, styles.shape[1] == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "modulateWeights", detail: "weight \(weight.shape), styles \(styles.shape)")
        }
        let (o, i, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let n = styles.shape[0]
        let shape = ModulateShape(batch: n, outChannels: o, inChannels: i, kernelSize: kh * kw, demodulate: demodulate)
        let out = try Tensor.empty([n, o, i, kh, kw], on: weight.backend)
        try Profiler.measure("modulateWeights", weight.backend) { try weight.backend.modulateWeights(shape, weight: weight.buffer, styles: styles.buffer, modulated: out.buffer) }
        return out.recorded("modulateWeights", [weight, styles]) { g in
            if Autograd.isRecording {
                // Building a differentiable graph (double backward): the VJP from primitives.
                return try modulateWeightsVJP(weight, styles: styles, demodulate: demodulate, gradient: g)
            }
            let dw = try Tensor.empty(weight.shape, on: g.backend), ds = try Tensor.empty(styles.shape, on: g.backend)
            try Profiler.measure("modulateWeightsBackward", g.backend) { try g.backend.modulateWeightsBackward(shape, weight: weight.buffer, styles: styles.buffer,
                                                  gradModulated: g.buffer, gradWeight: dw.buffer, gradStyles: ds.buffer) }
            return [dw, ds]
        }
    }

    /// `modulateWeights` composed of elementwise ops and reductions: the reference for the fused kernel,
    /// differentiable to any order.
    public static func modulateWeightsReference(_ weight: Tensor, styles: Tensor, demodulate: Bool) throws -> Tensor {
        let (n, o, i) = (styles.shape[0], weight.shape[0], weight.shape[1])
        let k = weight.shape[2] * weight.shape[3]
        let u = try weight.reshaped([1, o, i, k]) * styles.reshaped([n, 1, i, 1])
        let w = demodulate ? try u * (u.sumOfSquares(axes: [2, 3], keepDims: true) + 1e-8).map(.rsqrt) : u
        return try w.reshaped([n, o, i, weight.shape[2], weight.shape[3]])
    }

    /// Gradients (weight, styles) of `modulateWeights` for output gradient `g`, from differentiable ops:
    /// with u = w·s and d = rsqrt(Σ u² + ε): ∂L/∂u = d·g − d³·u·Σ(g·u); dw = Σ_n ∂L/∂u·s; ds = Σ_{o,k} ∂L/∂u·w.
    static func modulateWeightsVJP(_ weight: Tensor, styles: Tensor, demodulate: Bool, gradient g: Tensor) throws -> [Tensor?] {
        let (n, o, i) = (styles.shape[0], weight.shape[0], weight.shape[1])
        let k = weight.shape[2] * weight.shape[3]
        let w4 = try weight.reshaped([1, o, i, k]), s4 = try styles.reshaped([n, 1, i, 1])
        let g4 = try g.reshaped([n, o, i, k])
        var du = g4
        if demodulate {
            let u = try w4 * s4
            let d = try (u.sumOfSquares(axes: [2, 3], keepDims: true) + 1e-8).map(.rsqrt)
            let dot = try (g4 * u).sum(axes: [2, 3], keepDims: true)
            du = try g4 * d - u * d * d * d * dot
        }
        let dw = try (du * s4).sum(axes: [0]).reshaped(weight.shape)
        let ds = try (du * w4).sum(axes: [1, 3]).reshaped(styles.shape)
        return [dw, ds]
    }

    /// Modulated convolution `y[n] = conv2d(x[n], w'[n])`, w' = `modulateWeights(weight, styles)`.
    /// `.fused`: one grouped convolution of x viewed as `[1, N·I, H, W]` with w' viewed as `[N·O, I, kh, kw]`
    /// and groups = N. `.split`: `scaledConv2d(x, weight, inScale: styles, outScale: d)` with
    /// d = `demodulationCoefficients` (nil without demodulation).
    /// x `[N, I, H, W]`, weight `[O, I, kh, kw]`, styles `[N, I]` → `[N, O, outH, outW]`.
    public static func modulatedConv2d(_ x: Tensor, weight: Tensor, styles: Tensor, demodulate: Bool = true,
                                       padding: Int? = nil, mode: ModconvMode = .fused) throws -> Tensor {
        guard x.rank == 4, weight.rank == 4, styles.rank == 2, x.shape[0] == styles.shape[0], x.shape[1] == weight.shape[1],
              styles.shape[1] == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "modulatedConv2d", detail: "x \(x.shape), weight \(weight.shape), styles \(styles.shape)")
        }
        if mode == .split {
            let d = demodulate ? try demodulationCoefficients(weight, styles: styles) : nil
            return try scaledConv2d(x, weight: weight, inScale: styles, outScale: d, padding: padding ?? weight.shape[2] / 2)
        }
        let (n, o) = (x.shape[0], weight.shape[0])
        let w = try modulateWeights(weight, styles: styles, demodulate: demodulate)
        let y = try conv2d(x.reshaped([1, n * x.shape[1], x.shape[2], x.shape[3]]),
                           weight: w.reshaped([n * o, weight.shape[1], weight.shape[2], weight.shape[3]]),
                           padding: padding ?? weight.shape[2] / 2, groups: n)
        return try y.reshaped([n, o, y.shape[2], y.shape[3]])
    }

    /// Modulated convolution with 2x up-sampling, NVlabs' `conv2d_resample` path for up = 2:
    /// 1. w' = `modulateWeights(weight, styles)` `[N, O, I, k, k]`;
    /// 2. a stride-2 transposed convolution of x with w' (per sample: `y[n, o, 2i + ky, 2j + kx] +=
    ///    x[n, c, i, j]·w'[n, o, c, ky, kx]`), giving `[N, O, 2H + k − 2, 2W + k − 2]`: `.fused` runs it as
    ///    `conv2dGradInput` of a grouped stride-2 convolution, `.split` as `scaledConv2dGradInput` of the shared
    ///    weight (viewed `[I, O, k, k]`) with x scaled by the styles and the result by the demodulation;
    /// 3. the FIR `filter` (e.g. [1,3,3,1], sum 1) with gain 4, padded so the output is exactly `[N, O, 2H, 2W]`.
    /// Exact StyleGAN2 semantics, and a quarter of the multiply-adds of "FIR up, then conv at 2x".
    /// x `[N, I, H, W]`, weight `[O, I, k, k]`, styles `[N, I]`, filter `[f, f]`.
    public static func modulatedConv2dUp2(_ x: Tensor, weight: Tensor, styles: Tensor, filter: Tensor,
                                          demodulate: Bool = true, mode: ModconvMode = .fused) throws -> Tensor {
        guard x.rank == 4, x.shape[0] == styles.shape[0], x.shape[1] == weight.shape[1], weight.rank == 4,
              weight.shape[2] == weight.shape[3], filter.rank == 2, styles.rank == 2, styles.shape[1] == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "modulatedConv2dUp2", detail: "x \(x.shape), weight \(weight.shape), styles \(styles.shape), filter \(filter.shape)")
        }
        let (n, i, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, k, f) = (weight.shape[0], weight.shape[2], filter.shape[0])
        let (th, tw) = (2 * (h - 1) + k, 2 * (w - 1) + k)
        let y: Tensor
        switch mode {
        case .fused:
            // [N, O, I, k, k] → [N, I, O, k, k] → [N·I, O, k, k]: the grouped stride-2 conv maps O channels to I.
            let wm = try modulateWeights(weight, styles: styles, demodulate: demodulate)
                .reshaped([n, o, i, k, k]).permuted([0, 2, 1, 3, 4]).reshaped([n * i, o, k, k])
            y = try conv2dGradInput(x.reshaped([1, n * i, h, w]), weight: wm, inputShape: [1, n * o, th, tw],
                                    stride: 2, padding: 0, groups: n)
        case .split:
            // The stride-2 conv that this transposes maps [N, O, th, tw] to [N, I, h, w] with weight [I, O, k, k];
            // its input channels (O) carry the demodulation, its output channels (I, those of x) the styles.
            let d = demodulate ? try demodulationCoefficients(weight, styles: styles) : nil
            y = try scaledConv2dGradInput(x, weight: weight.permuted([1, 0, 2, 3]), inputShape: [n, o, th, tw],
                                          inScale: d, outScale: styles, stride: 2, padding: 0)
        }
        // NVlabs conv2d_resample (up = 2, padding k/2): p0 = (f + up − 1)/2 + k/2 − (k − 1),
        // p1 = (f − up)/2 + k/2 − (k − up); both 1 for k = 3 and f = 4.
        let p0 = (f + 1) / 2 + k / 2 - (k - 1), p1 = (f - 2) / 2 + k / 2 - (k - 2)
        let z = try upfirdn2d(y.reshaped([n, o, th, tw]), filter: filter, padding: (p0, p1, p0, p1), gain: 4)
        guard z.shape == [n, o, 2 * h, 2 * w] else {
            throw EngineError.shapeMismatch(op: "modulatedConv2dUp2", detail: "kernel \(k) with a \(f)-tap filter gives \(z.shape), not 2x")
        }
        return z
    }
}
