// StyleGAN2 modulated convolution ("fused modconv", NVlabs networks.modulated_conv2d with fused_modconv=True).

extension Tensor {
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

    /// Modulated convolution: `y[n] = conv2d(x[n], w'[n])` for each sample, run as one grouped convolution
    /// of x viewed as `[1, N·I, H, W]` with w' viewed as `[N·O, I, kh, kw]` and groups = N.
    /// x `[N, I, H, W]`, weight `[O, I, kh, kw]`, styles `[N, I]` → `[N, O, outH, outW]`.
    public static func modulatedConv2d(_ x: Tensor, weight: Tensor, styles: Tensor, demodulate: Bool = true,
                                       padding: Int? = nil) throws -> Tensor {
        guard x.rank == 4, x.shape[0] == styles.shape[0], x.shape[1] == weight.shape[1] else {
            throw EngineError.shapeMismatch(op: "modulatedConv2d", detail: "x \(x.shape), weight \(weight.shape), styles \(styles.shape)")
        }
        let (n, o) = (x.shape[0], weight.shape[0])
        let w = try modulateWeights(weight, styles: styles, demodulate: demodulate)
        let y = try conv2d(x.reshaped([1, n * x.shape[1], x.shape[2], x.shape[3]]),
                           weight: w.reshaped([n * o, weight.shape[1], weight.shape[2], weight.shape[3]]),
                           padding: padding ?? weight.shape[2] / 2, groups: n)
        return try y.reshaped([n, o, y.shape[2], y.shape[3]])
    }
}
