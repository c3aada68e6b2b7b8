// Convolution of the CPU backend (conv2d.cl on OpenCL): im2col in blocks of output pixels, each block
// followed by a GEMM on the calling thread, so the column matrix never exists whole and work items
// (sample, group, pixel block) run in parallel without sharing anything.
//
// Per sample n and group g, with K = (C/groups)·kh·kw and P = outH·outW, col = im2col(x[n])[g] `[K, P]`:
//   forward      y[n, g]  `[O/groups, P]` = W[g] `[O/groups, K]` · col
//   grad-input   stride 1: the forward convolution of dy with W flipped in space and transposed
//                (`[C, O/groups, kh, kw]` per group) and padding k − 1 − pad; otherwise
//                col = W[g]ᵀ · dy[n, g] per sample, then dx[n] = col2im(col)
//   grad-weight  dW[g] `[O/groups, K]` = Σ_n Σ_blocks dy[n, g][:, block] · col[:, block]ᵀ; work items
//                own column slices of dW (rows of col), so each element accumulates in the same
//                order whatever the thread count
// A 1×1 stride-1 unpadded convolution needs no im2col: the column matrix is the input itself, and the
// backend's batched `gemm` runs it directly. The 3x3 stride-1 layers the `convAlgorithm` policy picks run by
// Winograd F(2x2, 3x3) or F(4x4, 3x3) instead (CPUBackend+Winograd.swift). The shape's weight gain γ is applied on
// the weight side, where the tensors are small: the forward and grad-input run with a copy γ·w, grad-weight scales its
// result (the OpenCL kernels multiply their stores instead, which saves the launches).
extension CPUBackend {
    public func conv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, output: any Buffer) throws {
        try shape.validate("conv2d", input: input, weight: weight, output: output)
        try conv2dUngained(shape, input: input, weight: try gained(weight, shape, "conv2d"), output: output)
    }

    public func conv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, gradInput: any Buffer) throws {
        try shape.validate("conv2dGradInput", input: gradInput, weight: weight, output: gradOutput)
        try conv2dGradInputUngained(shape, gradOutput: gradOutput, weight: try gained(weight, shape, "conv2dGradInput"),
                                    gradInput: gradInput)
    }

    public func conv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, gradWeight: any Buffer) throws {
        try shape.validate("conv2dGradWeight", input: input, weight: gradWeight, output: gradOutput)
        try conv2dGradWeightUngained(shape, input: input, gradOutput: gradOutput, gradWeight: gradWeight)
        if shape.weightGain != 1 {
            try scale(gradWeight, by: shape.weightGain, into: gradWeight, count: shape.weightCount, "conv2dGradWeight")
        }
    }

    /// `weight` itself when the shape's gain is 1, else a new buffer `weightGain·weight`.
    private func gained(_ weight: any Buffer, _ shape: Conv2dShape, _ op: String) throws -> any Buffer {
        guard shape.weightGain != 1 else { return weight }
        let out = try allocate(shape.weightCount)
        try scale(weight, by: shape.weightGain, into: out, count: shape.weightCount, op)
        return out
    }

    /// `dst[i] = src[i]·gain` for i < count (dst may be src).
    private func scale(_ src: any Buffer, by gain: Float, into dst: any Buffer, count: Int, _ op: String) throws {
        let s = try ptr(src, op), d = try ptr(dst, op)
        parallelFor(count, grain: 1 << 14) { range in
            for i in range { d[i] = s[i] * gain }
        }
    }

    /// y = conv(x, w), without the weight gain.
    private func conv2dUngained(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, output: any Buffer) throws {
        if let block = winogradBlock(shape) {
            return try winogradConv2d(shape, block: block, x: input, weight: weight, y: output)
        }
        let x = try ptr(input, "conv2d"), w = try ptr(weight, "conv2d"), y = try ptr(output, "conv2d")
        let g = ConvGemmDims(shape)
        if g.direct {
            for n in 0..<shape.batch {
                // [Og, K] · [K, P] per group
                try gemm(GemmShape(m: g.og, n: g.p, k: g.k, batch: shape.groups,
                                   strideA: g.og * g.k, strideB: g.k * g.p, strideC: g.og * g.p,
                                   offsetB: n * g.sampleIn, offsetC: n * g.sampleOut),
                         a: weight, b: input, c: output)
            }
            return
        }
        convForwardBlocked(shape, x: x, w: w, y: y)
    }

    /// dx = convᵀ(dy, w), without the weight gain.
    private func conv2dGradInputUngained(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer,
                                         gradInput: any Buffer) throws {
        if let block = winogradBlock(shape) {
            return try winogradConv2dGradInput(shape, block: block, dy: gradOutput, weight: weight, dx: gradInput)
        }
        let dx = try ptr(gradInput, "conv2dGradInput"), w = try ptr(weight, "conv2dGradInput")
        let dy = try ptr(gradOutput, "conv2dGradInput")
        let g = ConvGemmDims(shape)
        let (kh, kw) = (shape.kernelH, shape.kernelW)
        if shape.stride == 1 && !g.direct && shape.padH < kh && shape.padW < kw {
            // Transposed convolution as a forward one: dx[n, c] = Σ_o conv(dy[n, o], flip(W[o, c])), with
            // the spatially flipped, transposed weights `[C, O/groups, kh, kw]` (C/groups rows per group).
            let cg = g.cg, og = g.og, kk = kh * kw
            let flipped = UnsafeMutablePointer<Float>.allocate(capacity: shape.outChannels * g.k)
            defer { flipped.deallocate() }
            for grp in 0..<shape.groups {
                for c in 0..<cg {
                    for o in 0..<og {
                        let src = w + ((grp * og + o) * cg + c) * kk, dst = flipped + ((grp * cg + c) * og + o) * kk
                        for t in 0..<kk { dst[t] = src[kk - 1 - t] }
                    }
                }
            }
            let transposed = Conv2dShape(batch: shape.batch, inChannels: shape.outChannels, outChannels: shape.inChannels,
                                         height: shape.outHeight, width: shape.outWidth, kernelH: kh, kernelW: kw,
                                         padH: kh - 1 - shape.padH, padW: kw - 1 - shape.padW, groups: shape.groups)
            convForwardBlocked(transposed, x: dy, w: flipped, y: dx)
            return
        }
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

    /// dw = corr(x, dy), without the weight gain.
    private func conv2dGradWeightUngained(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer,
                                          gradWeight: any Buffer) throws {
        if let block = winogradBlock(shape) {
            return try winogradConv2dGradWeight(shape, block: block, x: input, dy: gradOutput, dw: gradWeight)
        }
        let x = try ptr(input, "conv2dGradWeight"), dy = try ptr(gradOutput, "conv2dGradWeight")
        let dw = try ptr(gradWeight, "conv2dGradWeight")
        let g = ConvGemmDims(shape)
        // Work items: (group, slice of K); each runs every sample and pixel block for its slice.
        let slices = min(max(1, (2 * threads + shape.groups - 1) / shape.groups), max(1, g.k / GemmKernel.nr))
        let pixels = Self.pixelBlock(rows: g.k / slices + 1, pixels: g.p)
        parallelFor(shape.groups * slices, grain: 1) { items in
            let kMax = (g.k + slices - 1) / slices
            withConvScratch(col: kMax * pixels, gemm: GemmScratch.count(n: kMax, k: pixels)) { col, packing in
                for item in items {
                    let grp = item / slices, slice = item % slices
                    let rows = g.k * slice / slices ..< g.k * (slice + 1) / slices
                    guard !rows.isEmpty else { continue }
                    var first = true
                    for n in 0..<shape.batch {
                        let xs = x + n * g.sampleIn + grp * g.cg * shape.height * shape.width
                        for p0 in stride(from: 0, to: g.p, by: pixels) {
                            let block = p0 ..< min(g.p, p0 + pixels)
                            im2col(shape, x: xs, rows: rows, pixels: block, col: col)
                            // dW[g][:, rows] (+)= dy[n, g][:, block] · col[rows, block]ᵀ
                            Self.gemmSerial(GemmOperands(
                                m: g.og, n: rows.count, k: block.count,
                                a: dy + n * g.sampleOut + grp * g.og * g.p + p0, aRow: g.p, aCol: 1,
                                b: col, bRow: 1, bCol: block.count,
                                c: dw + grp * g.og * g.k + rows.lowerBound, ldc: g.k, beta: first ? 0 : 1), scratch: packing)
                            first = false
                        }
                    }
                }
            }
        }
    }

    // MARK: - Blocked forward

    /// y = conv(x, w) for a convolution that needs im2col: work items (sample, group, pixel block,
    /// slice of output channels), each an im2col of its block into its own scratch and one GEMM.
    func convForwardBlocked(_ shape: Conv2dShape, x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let g = ConvGemmDims(shape)
        let pixels = Self.pixelBlock(rows: g.k, pixels: g.p)
        let blocks = (g.p + pixels - 1) / pixels
        let planes = shape.batch * shape.groups * blocks
        // Split the output channels too when there are fewer blocks than threads (re-doing the im2col).
        let slices = min(max(1, (2 * threads + planes - 1) / planes), max(1, g.og / GemmKernel.mr))
        parallelFor(planes * slices, grain: 1) { items in
            withConvScratch(col: g.k * pixels, gemm: GemmScratch.count(n: pixels, k: g.k)) { col, packing in
                for item in items {
                    let plane = item / slices, slice = item % slices
                    let n = plane / (shape.groups * blocks), grp = (plane / blocks) % shape.groups, block = plane % blocks
                    let outRows = g.og * slice / slices ..< g.og * (slice + 1) / slices
                    let range = block * pixels ..< min(g.p, (block + 1) * pixels)
                    guard !outRows.isEmpty else { continue }
                    im2col(shape, x: x + n * g.sampleIn + grp * g.cg * shape.height * shape.width,
                           rows: 0..<g.k, pixels: range, col: col)
                    // y[n, g][outRows, range] = W[g][outRows, :] · col[:, range]
                    let o0 = grp * g.og + outRows.lowerBound
                    Self.gemmSerial(GemmOperands(
                        m: outRows.count, n: range.count, k: g.k,
                        a: w + o0 * g.k, aRow: g.k, aCol: 1, b: col, bRow: range.count, bCol: 1,
                        c: y + n * g.sampleOut + o0 * g.p + range.lowerBound, ldc: g.p), scratch: packing)
                }
            }
        }
    }

    /// Output pixels per block: about 2¹⁹ floats of column matrix (`rows` of them per pixel), a multiple
    /// of the GEMM's 16-column micro-tile between 64 and 2048, or all pixels when fewer.
    static func pixelBlock(rows: Int, pixels: Int) -> Int {
        let target = (1 << 19) / max(rows, 1) / GemmKernel.nr * GemmKernel.nr
        return min(pixels, min(GemmBlocking.nc, max(64, target)))
    }
}

extension CPUBackend {
    /// Runs `body` with a column block of `col` floats and GEMM packing space of `gemm` floats, both
    /// 64-byte aligned, borrowed from the backend's scratch pool for one work chunk.
    func withConvScratch(col: Int, gemm: Int, _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let colFloats = (col + 15) / 16 * 16
        scratch.withFloats(colFloats + gemm) { base in body(base, base + colFloats) }
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
