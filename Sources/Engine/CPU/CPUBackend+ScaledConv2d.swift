// Scaled convolution of the CPU backend (conv2d.cl with -D IN_SCALE / -D OUT_SCALE on OpenCL): the same
// arithmetic as the fused kernels, done as per-(sample, channel) scaling of copies and of the result around
// the plain conv2d primitives of CPUBackend+Conv2d.swift.
extension CPUBackend {
    public func scaledConv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                             outScale: (any Buffer)?, output: any Buffer) throws {
        try shape.validate("conv2d", input: input, weight: weight, output: output)
        try shape.validateScales("scaledConv2d", inScale: inScale, outScale: outScale)
        let x = try scaledCopy(input, inScale, batch: shape.batch, channels: shape.inChannels, plane: shape.height * shape.width)
        try conv2d(shape, input: x, weight: weight, output: output)
        try scaleInPlace(output, outScale, batch: shape.batch, channels: shape.outChannels, plane: shape.outHeight * shape.outWidth)
    }

    public func scaledConv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                                      outScale: (any Buffer)?, gradInput: any Buffer) throws {
        try shape.validate("conv2dGradInput", input: gradInput, weight: weight, output: gradOutput)
        try shape.validateScales("scaledConv2dGradInput", inScale: inScale, outScale: outScale)
        let dy = try scaledCopy(gradOutput, outScale, batch: shape.batch, channels: shape.outChannels,
                                plane: shape.outHeight * shape.outWidth)
        try conv2dGradInput(shape, gradOutput: dy, weight: weight, gradInput: gradInput)
        try scaleInPlace(gradInput, inScale, batch: shape.batch, channels: shape.inChannels, plane: shape.height * shape.width)
    }

    public func scaledConv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                                       outScale: (any Buffer)?, gradWeight: any Buffer) throws {
        try shape.validate("conv2dGradWeight", input: input, weight: gradWeight, output: gradOutput)
        try shape.validateScales("scaledConv2dGradWeight", inScale: inScale, outScale: outScale)
        let x = try scaledCopy(input, inScale, batch: shape.batch, channels: shape.inChannels, plane: shape.height * shape.width)
        let dy = try scaledCopy(gradOutput, outScale, batch: shape.batch, channels: shape.outChannels,
                                plane: shape.outHeight * shape.outWidth)
        try conv2dGradWeight(shape, input: x, gradOutput: dy, gradWeight: gradWeight)
    }

    // MARK: - Per-(sample, channel) scaling

    /// `src` itself when `scale` is nil, else a new buffer `out[n, c, p] = src[n, c, p]·scale[n, c]`
    /// over `[batch, channels, plane]`.
    func scaledCopy(_ src: any Buffer, _ scale: (any Buffer)?, batch: Int, channels: Int, plane: Int) throws -> any Buffer {
        guard let scale else { return src }
        let out = try allocate(batch * channels * plane)
        try scaleRows(from: ptr(src, "scaledConv2d"), to: ptr(out, "scaledConv2d"), scale: ptr(scale, "scaledConv2d"),
                      rows: batch * channels, plane: plane)
        return out
    }

    /// `buffer[n, c, p] *= scale[n, c]` over `[batch, channels, plane]`; nothing when `scale` is nil.
    func scaleInPlace(_ buffer: any Buffer, _ scale: (any Buffer)?, batch: Int, channels: Int, plane: Int) throws {
        guard let scale else { return }
        let b = try ptr(buffer, "scaledConv2d")
        try scaleRows(from: b, to: b, scale: ptr(scale, "scaledConv2d"), rows: batch * channels, plane: plane)
    }

    /// `dst[r·plane + p] = src[r·plane + p]·scale[r]` for every row r (dst may be src).
    private func scaleRows(from src: UnsafeMutablePointer<Float>, to dst: UnsafeMutablePointer<Float>,
                           scale: UnsafeMutablePointer<Float>, rows: Int, plane: Int) {
        parallelFor(rows, grain: max(1, 4096 / max(plane, 1))) { range in
            for r in range {
                let k = scale[r], s = src + r * plane, d = dst + r * plane
                for p in 0..<plane { d[p] = s[p] * k }
            }
        }
    }
}
