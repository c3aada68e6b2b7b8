// Convolution of the CPU backend (conv2d.cl on OpenCL): im2col per sample, then the backend's own
// batched `gemm` over the groups.
//
// Per sample n and group g, with K = (C/groups)·kh·kw and P = outH·outW:
//   forward      y[n, g]  `[O/groups, P]` = W[g] `[O/groups, K]` · col(x[n])[g] `[K, P]`
//   grad-input   col[g]   `[K, P]`        = W[g]ᵀ · dy[n, g], then dx[n] = col2im(col)
//   grad-weight  dW[g]   `[O/groups, K]`  = Σ_n dy[n, g] · col(x[n])[g]ᵀ
// A 1×1 stride-1 unpadded convolution needs no im2col: the column matrix is the input itself.
extension CPUBackend {
    public func conv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, output: any Buffer) throws {
        try shape.validate("conv2d", input: input, weight: weight, output: output)
        let x = try ptr(input, "conv2d")
        _ = try ptr(weight, "conv2d"); _ = try ptr(output, "conv2d")
        let g = ConvGemmDims(shape)
        let col = g.direct ? nil : try allocate(shape.groups * g.k * g.p)
        for n in 0..<shape.batch {
            if let col { im2col(shape, x: x + n * g.sampleIn, col: try ptr(col, "conv2d")) }
            // [Og, K] · [K, P] per group
            try gemm(GemmShape(m: g.og, n: g.p, k: g.k, batch: shape.groups,
                               strideA: g.og * g.k, strideB: g.k * g.p, strideC: g.og * g.p,
                               offsetB: col == nil ? n * g.sampleIn : 0, offsetC: n * g.sampleOut),
                     a: weight, b: col ?? input, c: output)
        }
    }

    public func conv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, gradInput: any Buffer) throws {
        try shape.validate("conv2dGradInput", input: gradInput, weight: weight, output: gradOutput)
        let dx = try ptr(gradInput, "conv2dGradInput")
        _ = try ptr(weight, "conv2dGradInput"); _ = try ptr(gradOutput, "conv2dGradInput")
        let g = ConvGemmDims(shape)
        let col = g.direct ? nil : try allocate(shape.groups * g.k * g.p)
        for n in 0..<shape.batch {
            // [Og, K]ᵀ · [Og, P] per group, straight into dx when there is no im2col
            try gemm(GemmShape(m: g.k, n: g.p, k: g.og, transA: true, batch: shape.groups,
                               strideA: g.og * g.k, strideB: g.og * g.p, strideC: g.k * g.p,
                               offsetB: n * g.sampleOut, offsetC: col == nil ? n * g.sampleIn : 0),
                     a: weight, b: gradOutput, c: col ?? gradInput)
            if let col { col2im(shape, col: try ptr(col, "conv2dGradInput"), dx: dx + n * g.sampleIn) }
        }
    }

    public func conv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, gradWeight: any Buffer) throws {
        try shape.validate("conv2dGradWeight", input: input, weight: gradWeight, output: gradOutput)
        let x = try ptr(input, "conv2dGradWeight")
        _ = try ptr(gradOutput, "conv2dGradWeight"); _ = try ptr(gradWeight, "conv2dGradWeight")
        let g = ConvGemmDims(shape)
        let col = g.direct ? nil : try allocate(shape.groups * g.k * g.p)
        for n in 0..<shape.batch {
            if let col { im2col(shape, x: x + n * g.sampleIn, col: try ptr(col, "conv2dGradWeight")) }
            // [Og, P] · [K, P]ᵀ per group, accumulated over the batch
            try gemm(GemmShape(m: g.og, n: g.k, k: g.p, transB: true, batch: shape.groups,
                               strideA: g.og * g.p, strideB: g.k * g.p, strideC: g.og * g.k,
                               offsetA: n * g.sampleOut, offsetB: col == nil ? n * g.sampleIn : 0,
                               beta: n == 0 ? 0 : 1),
                     a: gradOutput, b: col ?? input, c: gradWeight)
        }
    }
}

/// The per-group GEMM sizes of a convolution.
struct ConvGemmDims {
    /// Input and output channels per group.
    let cg: Int, og: Int
    /// Reduction length `cg·kh·kw` and output pixels per sample.
    let k: Int, p: Int
    /// Elements of one sample of x and of y.
    let sampleIn: Int, sampleOut: Int
    /// 1×1, stride 1, no padding: x is its own column matrix.
    let direct: Bool

    init(_ s: Conv2dShape) {
        cg = s.inChannels / s.groups
        og = s.outChannels / s.groups
        k = cg * s.kernelH * s.kernelW
        p = s.outHeight * s.outWidth
        sampleIn = s.inChannels * s.height * s.width
        sampleOut = s.outChannels * p
        direct = s.kernelH == 1 && s.kernelW == 1 && s.stride == 1 && s.padH == 0 && s.padW == 0
    }
}
