// Soft RGB-uv histogram of the OpenCL backend (histogram.cl). Forward: features → tiled GEMM per
// (image, channel, pixel chunk) → sum of chunks → normalisation. Backward: features with per-pixel
// mass → dG → backward GEMM per pixel tile → chain rule → resize adjoint. Every launch covers the batch.
extension OpenCLBackend {
    public func rgbuvHistogram(_ s: HistogramShape, image: any Buffer, output: any Buffer) throws {
        try s.validate("rgbuvHistogram")
        try Self.checkHistogramBuffers([(image, s.imageCount, "image"), (output, s.outputCount, "output")])
        let a = HistogramLaunch(s)
        let (n, p, bins) = (s.batch, s.pixels, s.bins)
        let features = try allocate(n * 7 * p)
        try launch("histogram", "hist_features", options: a.options, global: [p, n], local: [256, 1],
                   [.buffer(image), .buffer(features), a.geom, a.samp, .float(a.scaleY), .float(a.scaleX),
                    .float(a.invS2), .float(a.halfWidth), .int(0), .local(4)])
        let tiles = (bins + 63) / 64, pairs = n * 3
        let chunks = forwardChunks(pixels: p, groups: pairs * tiles * tiles)
        let chunkLength = ((p + chunks - 1) / chunks + 15) / 16 * 16
        let usedChunks = (p + chunkLength - 1) / chunkLength
        let target = usedChunks == 1 ? output : try allocate(pairs * usedChunks * bins * bins)
        try launch("histogram", "hist_forward", options: a.options, global: [16 * tiles * tiles, 16, pairs * usedChunks],
                   local: [16, 16, 1], [.buffer(features), .buffer(target), a.geom,
                                        .int8([Int32(usedChunks), Int32(chunkLength), Int32(tiles)]),
                                        .float(a.invS2), .float(a.halfWidth)])
        if usedChunks > 1 {
            try launch("histogram", "hist_sum_chunks", options: a.options, global: [s.outputCount], local: [256],
                       [.buffer(target), .buffer(output), .int(s.outputCount), .int(usedChunks), .int(bins * bins)])
        }
        try launch("histogram", "hist_normalize", options: a.options, global: [256 * n], local: [256],
                   [.buffer(output), .int(3 * bins * bins)])
    }

    public func rgbuvHistogramBackward(_ s: HistogramShape, image: any Buffer, histogram: any Buffer,
                                       gradOutput: any Buffer, gradImage: any Buffer) throws {
        try s.validate("rgbuvHistogramBackward")
        try Self.checkHistogramBuffers([(image, s.imageCount, "image"), (histogram, s.outputCount, "histogram"),
                                        (gradOutput, s.outputCount, "gradOutput"), (gradImage, s.imageCount, "gradImage")])
        let a = HistogramLaunch(s)
        let (n, p, bins) = (s.batch, s.pixels, s.bins)
        let features = try allocate(n * 8 * p)
        try launch("histogram", "hist_features", options: a.options, global: [p, n], local: [256, 1],
                   [.buffer(image), .buffer(features), a.geom, a.samp, .float(a.scaleY), .float(a.scaleX),
                    .float(a.invS2), .float(a.halfWidth), .int(1), .local(4 * bins)])
        let gradG = try allocate(s.outputCount)
        try launch("histogram", "hist_grad_prep", options: a.options, global: [256 * n], local: [256],
                   [.buffer(features), .buffer(histogram), .buffer(gradOutput), .buffer(gradG), .int(p), .int(3 * bins * bins)])
        let pixelGrads = try allocate(n * 9 * p)
        try launch("histogram", "hist_backward_pixels", options: a.options, global: [16 * ((p + 63) / 64), 16 * n * 3],
                   local: [16, 16], [.buffer(features), .buffer(gradG), .buffer(pixelGrads), a.geom,
                                     .float(a.invS2), .float(a.halfWidth)])
        let binnedGrad = s.reduces ? try allocate(n * 3 * p) : gradImage
        try launch("histogram", "hist_chain", options: a.options, global: [p, n], local: [256, 1],
                   [.buffer(image), .buffer(pixelGrads), .buffer(binnedGrad), a.geom, a.samp, .float(a.scaleY), .float(a.scaleX)])
        if s.reduces {
            try launch("histogram", "hist_resample_backward", options: a.options, global: [s.height * s.width, n * 3],
                       local: [256, 1], [.buffer(image), .buffer(binnedGrad), .buffer(gradImage), a.geom, a.samp,
                                         .float(a.scaleY), .float(a.scaleX)])
        }
    }

    /// Pixel chunks per (image, channel) of the forward GEMM: enough work-groups to fill the device
    /// (4 per compute unit), each chunk at least 256 pixels.
    func forwardChunks(pixels: Int, groups: Int) -> Int {
        let target = 4 * Swift.max(1, info.computeUnits)
        return Swift.max(1, Swift.min((pixels + 255) / 256, (target + groups - 1) / groups))
    }

    static func checkHistogramBuffers(_ buffers: [(any Buffer, Int, String)]) throws {
        for (buffer, count, name) in buffers where buffer.count < count {
            throw EngineError.shapeMismatch(op: "rgbuvHistogram", detail: "\(name) holds \(buffer.count) floats, needs \(count)")
        }
    }
}

/// The kernel arguments shared by the histogram launches (see the header of histogram.cl).
struct HistogramLaunch {
    let options: String
    let geom: KernelArg, samp: KernelArg
    let scaleY: Float, scaleX: Float, invS2: Float, halfWidth: Float

    init(_ s: HistogramShape) {
        options = "-D HIST_KERNEL=\(s.options.kernel.code)"
        let mode: Int32 = !s.reduces ? 0 : (s.options.resize == .interpolation ? 1 : 2)
        geom = .int8([s.height, s.width, s.binnedHeight, s.binnedWidth].map { Int32($0) }
                     + [mode, Int32(s.bins), Int32(s.pixels), Int32(s.batch)])
        let rows = s.sampleCorrection(s.height), cols = s.sampleCorrection(s.width)
        samp = .int8([rows.deficit, rows.exponent, cols.deficit, cols.exponent].map { Int32($0) })
        scaleY = Float(s.height) / Float(s.binnedHeight)
        scaleX = Float(s.width) / Float(s.binnedWidth)
        let sigma = Double(s.options.sigma)
        invS2 = s.options.kernel == .threshold ? 0 : Float(1 / (sigma * sigma))
        halfWidth = s.thresholdHalfWidth
    }
}
