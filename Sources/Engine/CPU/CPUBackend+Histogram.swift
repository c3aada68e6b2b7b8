import Foundation

// Soft RGB-uv histogram of the CPU backend (histogram.cl on OpenCL). Both directions run over the
// whole batch at once: the per-(image, channel) histogram is the GEMM `(Iy·Ku)ᵀ · Kv` over pixel blocks.
extension CPUBackend {
    /// Pixels per block of the GEMM-shaped loops (columns of the transposed left operand).
    static let histogramBlock = 64

    public func rgbuvHistogram(_ s: HistogramShape, image: any Buffer, output: any Buffer) throws {
        try s.validate("rgbuvHistogram")
        try checkHistogramBuffers(s, [(image, s.imageCount, "image"), (output, s.outputCount, "output")])
        let img = try ptr(image, "rgbuvHistogram"), out = try ptr(output, "rgbuvHistogram")
        let math = HistogramMath(s)
        let (n, p, bins, bp) = (s.batch, s.pixels, s.bins, math.paddedBins)
        let chunks = histogramChunks(pixels: p, tasks: n * 3)
        let block = Self.histogramBlock
        withScratch(n * 3 * p) { binned in
            withScratch(n * 7 * p) { features in
                histogramResample(s, image: img, into: binned)
                histogramFeatures(s, binned: binned, into: features)
                withScratch(n * 3 * chunks * bins * bp) { partial in
                    // 1. Partial histograms of each (image, channel, pixel chunk).
                    parallelFor(n * 3 * chunks, grain: 1) { tasks in
                        withScratch(bins * block + block * bp + 2 * block) { scratch in
                            let left = scratch, right = scratch + bins * block
                            let pu = right + block * bp, piy = pu + block
                            for task in tasks {
                                let (pair, chunk) = task.quotientAndRemainder(dividingBy: chunks)
                                let (image, c) = pair.quotientAndRemainder(dividingBy: 3)
                                let iy = features + image * 7 * p, u = iy + (1 + 2 * c) * p, v = u + p
                                let g = partial + task * bins * bp
                                g.update(repeating: 0, count: bins * bp)
                                let range = Self.chunkRange(chunk, of: chunks, pixels: p)
                                for start in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                                    let count = Swift.min(block, range.upperBound - start)
                                    // Operands: left[i, q] = Iy·k(u_q − t_i) (SIMD over pixels, padded with
                                    // Iy = 0), right[q, j] = k(v_q − t_j) (SIMD over bins).
                                    pu.update(from: u + start, count: count); piy.update(from: iy + start, count: count)
                                    for q in count..<block { pu[q] = 0; piy[q] = 0 }
                                    for i in 0..<bins {
                                        math.column(pu, scale: piy, centre: math.centres[i], count: count, into: left + i * block)
                                    }
                                    for q in 0..<count { math.row(v[start + q], scale: 1, into: right + q * bp) }
                                    for i in 0..<bins {
                                        math.accumulateRowTimesMatrix(left + i * block, count: count, right, into: g + i * bp)
                                    }
                                }
                            }
                        }
                    }
                    // 2. Sum the chunks, then divide each image by (its total + eps).
                    parallelFor(n, grain: 1) { images in
                        for image in images {
                            var total = 0.0
                            for c in 0..<3 {
                                for i in 0..<bins {
                                    for j in 0..<bins {
                                        var acc: Float = 0
                                        for chunk in 0..<chunks { acc += partial[((image * 3 + c) * chunks + chunk) * bins * bp + i * bp + j] }
                                        out[((image * 3 + c) * bins + i) * bins + j] = acc
                                        total += Double(acc)
                                    }
                                }
                            }
                            let scale = 1 / (Float(total) + HistogramMath.eps)
                            let o = out + image * 3 * bins * bins
                            for k in 0..<(3 * bins * bins) { o[k] *= scale }
                        }
                    }
                }
            }
        }
    }

    public func rgbuvHistogramBackward(_ s: HistogramShape, image: any Buffer, histogram: any Buffer,
                                       gradOutput: any Buffer, gradImage: any Buffer) throws {
        try s.validate("rgbuvHistogramBackward")
        try checkHistogramBuffers(s, [(image, s.imageCount, "image"), (histogram, s.outputCount, "histogram"),
                                      (gradOutput, s.outputCount, "gradOutput"), (gradImage, s.imageCount, "gradImage")])
        let op = "rgbuvHistogramBackward"
        let img = try ptr(image, op), hist = try ptr(histogram, op), gOut = try ptr(gradOutput, op), gImg = try ptr(gradImage, op)
        let math = HistogramMath(s)
        let (n, p, bins, bp) = (s.batch, s.pixels, s.bins, math.paddedBins)
        withScratch(n * 3 * p) { binned in
            withScratch(n * 7 * p) { features in
                histogramResample(s, image: img, into: binned)
                histogramFeatures(s, binned: binned, into: features)
                withScratch(n * 3 * bins * bp) { gradT in
                    // 1. dL/dG of the unnormalised histogram G, transposed per (image, channel) to [j, i].
                    histogramNormalisationBackward(s, math, features: features, histogram: hist, gradOutput: gOut, into: gradT)
                    withScratch(n * 9 * p) { pixelGrads in
                        // 2. Per pixel and channel: ∂/∂Iy, ∂/∂u, ∂/∂v (the backward GEMM).
                        histogramPixelGradients(s, math, features: features, gradT: gradT, into: pixelGrads)
                        // 3. Chain rule through the logs and Iy to the binned pixels, then the resample.
                        histogramChainRule(s, binned: binned, features: features, pixelGrads: pixelGrads)
                        histogramResampleBackward(s, gradBinned: binned, image: img, gradImage: gImg)
                    }
                }
            }
        }
    }

    // MARK: - Steps

    /// `features[n, 0, p] = Iy`, `features[n, 1 + 2c, p] = u_c`, `features[n, 2 + 2c, p] = v_c`.
    func histogramFeatures(_ s: HistogramShape, binned: UnsafeMutablePointer<Float>, into features: UnsafeMutablePointer<Float>) {
        let p = s.pixels
        parallelFor(s.batch * p, grain: 1 << 12) { r in
            for idx in r {
                let (image, px) = idx.quotientAndRemainder(dividingBy: p)
                let x = binned + image * 3 * p + px, f = features + image * 7 * p + px
                let (iy, uv) = HistogramMath.features(x[0], x[p], x[2 * p])
                f[0] = iy
                f[p] = uv.0; f[2 * p] = uv.1; f[3 * p] = uv.2; f[4 * p] = uv.3; f[5 * p] = uv.4; f[6 * p] = uv.5
            }
        }
    }

    /// With `H = G / (S + eps)`, `S = ΣG`: `dG = (dH − Σ dH·H) / (S + eps)`. S is recomputed from the
    /// pixels as `Σ_p Iy Σ_c (Σ_i k(u−t_i))(Σ_j k(v−t_j))` (the sum of G without forming it). Writes
    /// `gradT[n, c, j, i]` with rows padded to `paddedBins`.
    func histogramNormalisationBackward(_ s: HistogramShape, _ math: HistogramMath, features: UnsafeMutablePointer<Float>,
                                        histogram: UnsafeMutablePointer<Float>, gradOutput: UnsafeMutablePointer<Float>,
                                        into gradT: UnsafeMutablePointer<Float>) {
        let (p, bins, bp) = (s.pixels, s.bins, math.paddedBins)
        parallelFor(s.batch, grain: 1) { images in
            for image in images {
                let f = features + image * 7 * p
                var total = 0.0
                for px in 0..<p {
                    var sum: Float = 0
                    for c in 0..<3 { sum += math.rowSum(f[(1 + 2 * c) * p + px]) * math.rowSum(f[(2 + 2 * c) * p + px]) }
                    total += Double(f[px] * sum)
                }
                let count = 3 * bins * bins, h = histogram + image * count, g = gradOutput + image * count
                var dot = 0.0
                for k in 0..<count { dot += Double(g[k]) * Double(h[k]) }
                let scale = 1 / (Float(total) + HistogramMath.eps), shift = Float(dot)
                let t = gradT + image * 3 * bins * bp
                t.update(repeating: 0, count: 3 * bins * bp)
                for c in 0..<3 {
                    for i in 0..<bins {
                        for j in 0..<bins { t[(c * bins + j) * bp + i] = (g[(c * bins + i) * bins + j] - shift) * scale }
                    }
                }
            }
        }
    }

    /// For each binned pixel and channel c, with `T = dG · Kv(v)` and `T' = dG · Kv'(v)`:
    /// `∂/∂Iy = Ku·T`, `∂/∂u = Iy·Ku'·T`, `∂/∂v = Iy·Ku·T'`, written to `pixelGrads[n, c, 0...2, p]`.
    func histogramPixelGradients(_ s: HistogramShape, _ math: HistogramMath, features: UnsafeMutablePointer<Float>,
                                 gradT: UnsafeMutablePointer<Float>, into pixelGrads: UnsafeMutablePointer<Float>) {
        let (n, p, bins, bp) = (s.batch, s.pixels, s.bins, math.paddedBins)
        let blocks = (p + Self.histogramBlock - 1) / Self.histogramBlock
        let smooth = s.options.kernel != .threshold
        parallelFor(n * 3 * blocks, grain: 1) { tasks in
            withScratch(6 * bp) { scratch in
                let ku = scratch, kuSlope = scratch + bp, kv = scratch + 2 * bp, kvSlope = scratch + 3 * bp
                let t = scratch + 4 * bp, tSlope = scratch + 5 * bp
                for task in tasks {
                    let (pair, blk) = task.quotientAndRemainder(dividingBy: blocks)
                    let (image, c) = pair.quotientAndRemainder(dividingBy: 3)
                    let iy = features + image * 7 * p, u = iy + (1 + 2 * c) * p, v = u + p
                    let gt = gradT + pair * bins * bp, out = pixelGrads + pair * 3 * p
                    let lo = blk * Self.histogramBlock, hi = Swift.min(p, lo + Self.histogramBlock)
                    for px in lo..<hi {
                        math.rowWithSlopes(u[px], values: ku, slopes: kuSlope)
                        math.rowWithSlopes(v[px], values: kv, slopes: kvSlope)
                        t.update(repeating: 0, count: bp)
                        math.accumulateRowTimesMatrix(kv, count: bins, gt, into: t)
                        out[px] = math.dot(ku, t)
                        if smooth {
                            tSlope.update(repeating: 0, count: bp)
                            math.accumulateRowTimesMatrix(kvSlope, count: bins, gt, into: tSlope)
                            out[p + px] = iy[px] * math.dot(kuSlope, t)
                            out[2 * p + px] = iy[px] * math.dot(ku, tSlope)
                        } else {
                            out[p + px] = 0; out[2 * p + px] = 0
                        }
                    }
                }
            }
        }
    }

    /// Overwrites `binned` `[N, 3, P]` with the gradient w.r.t. the binned pixels:
    /// `dx_k = dL_k / (x_k + eps) + dIy · x_k / Iy` where `L_k = log(x_k + eps)`.
    func histogramChainRule(_ s: HistogramShape, binned: UnsafeMutablePointer<Float>, features: UnsafeMutablePointer<Float>,
                            pixelGrads: UnsafeMutablePointer<Float>) {
        let p = s.pixels, eps = HistogramMath.eps
        parallelFor(s.batch * p, grain: 1 << 12) { r in
            for idx in r {
                let (image, px) = idx.quotientAndRemainder(dividingBy: p)
                let g = pixelGrads + image * 9 * p + px, x = binned + image * 3 * p + px
                let dIy = g[0] + g[3 * p] + g[6 * p]
                let du0 = g[p], dv0 = g[2 * p], du1 = g[4 * p], dv1 = g[5 * p], du2 = g[7 * p], dv2 = g[8 * p]
                let dL0 = du0 + dv0 - du1 - du2
                let dL1 = -du0 + du1 + dv1 - dv2
                let dL2 = -dv0 - dv1 + du2 + dv2
                let radial = dIy / features[image * 7 * p + px]
                let x0 = x[0], x1 = x[p], x2 = x[2 * p]
                x[0] = dL0 / (x0 + eps) + radial * x0
                x[p] = dL1 / (x1 + eps) + radial * x1
                x[2 * p] = dL2 / (x2 + eps) + radial * x2
            }
        }
    }

    // MARK: - Helpers

    /// Pixel chunks per (image, channel) so that about two tasks per thread exist, each ≥ 256 pixels.
    func histogramChunks(pixels: Int, tasks: Int) -> Int {
        Swift.max(1, Swift.min((pixels + 255) / 256, (2 * threads + tasks - 1) / tasks))
    }

    /// Pixels `[lo, hi)` of chunk `chunk` of `chunks` equal parts.
    static func chunkRange(_ chunk: Int, of chunks: Int, pixels: Int) -> Range<Int> {
        let size = (pixels + chunks - 1) / chunks
        return Swift.min(pixels, chunk * size)..<Swift.min(pixels, (chunk + 1) * size)
    }

    func checkHistogramBuffers(_ s: HistogramShape, _ buffers: [(any Buffer, Int, String)]) throws {
        for (buffer, count, name) in buffers where buffer.count < count {
            throw EngineError.shapeMismatch(op: "rgbuvHistogram", detail: "\(name) holds \(buffer.count) floats, needs \(count)")
        }
    }
}
