import Foundation

/// One output index of a PyTorch `align_corners=False` linear resize: `w0·x[i0] + w1·x[i1]`.
struct LinearTap: Sendable, Equatable {
    var i0: Int, i1: Int
    var w0: Float, w1: Float

    /// The taps of resizing an axis of `input` samples to `output` samples, computed in Float exactly
    /// as PyTorch's `upsample_bilinear2d` CPU kernel: `src = max(scale·(o + 0.5) − 0.5, 0)` with
    /// `scale = input / output`, `i0 = min(floor(src), input − 1)`, `i1 = i0 + (i0 < input − 1)`,
    /// `w1 = clamp(src − i0, 0, 1)`, `w0 = 1 − w1`.
    static func taps(input: Int, output: Int) -> [LinearTap] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { o in
            let src = Swift.max(scale * (Float(o) + 0.5) - 0.5, 0)
            let i0 = Swift.min(Int(src.rounded(.down)), input - 1)
            let w1 = Swift.min(Swift.max(src - Float(i0), 0), 1)
            return LinearTap(i0: i0, i1: i0 + (i0 < input - 1 ? 1 : 0), w0: 1 - w1, w1: w1)
        }
    }
}

// The image reduction of the RGB-uv histogram on the CPU (the first step of `rgbuvHistogram`):
// clamp to [0, 1], then bilinear resize, row/column sampling or nothing (HistogramShape.reduces).
extension CPUBackend {
    /// Writes the clamped, reduced images `[N, 3, binnedHeight, binnedWidth]` of `image` `[N, 3, H, W]`.
    func histogramResample(_ s: HistogramShape, image: UnsafeMutablePointer<Float>, into binned: UnsafeMutablePointer<Float>) {
        let (h, w, bh, bw) = (s.height, s.width, s.binnedHeight, s.binnedWidth)
        @inline(__always) func clamped(_ x: Float) -> Float { Swift.min(Swift.max(x, 0), 1) }
        if !s.reduces {
            parallelFor(s.imageCount, grain: 1 << 15) { r in for i in r { binned[i] = clamped(image[i]) } }
            return
        }
        switch s.options.resize {
        case .sampling:
            let rows = s.sampleIndices(h), cols = s.sampleIndices(w)
            parallelFor(s.batch * 3, grain: 1) { planes in
                for plane in planes {
                    let src = image + plane * h * w, dst = binned + plane * bh * bw
                    for i in 0..<bh { for j in 0..<bw { dst[i * bw + j] = clamped(src[rows[i] * w + cols[j]]) } }
                }
            }
        case .interpolation:
            let ty = LinearTap.taps(input: h, output: bh), tx = LinearTap.taps(input: w, output: bw)
            parallelFor(s.batch * 3, grain: 1) { planes in
                for plane in planes {
                    let src = image + plane * h * w, dst = binned + plane * bh * bw
                    for i in 0..<bh {
                        let y = ty[i], r0 = src + y.i0 * w, r1 = src + y.i1 * w
                        for j in 0..<bw {
                            let x = tx[j]
                            let top = x.w0 * clamped(r0[x.i0]) + x.w1 * clamped(r0[x.i1])
                            let bottom = x.w0 * clamped(r1[x.i0]) + x.w1 * clamped(r1[x.i1])
                            dst[i * bw + j] = y.w0 * top + y.w1 * bottom
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `histogramResample`: scatters `gradBinned` `[N, 3, bh, bw]` back to the image
    /// grid and zeroes it where the clamp was active (`image` outside [0, 1]; PyTorch's clamp passes the
    /// gradient at the bounds themselves). Writes every element of `gradImage` `[N, 3, H, W]`.
    func histogramResampleBackward(_ s: HistogramShape, gradBinned: UnsafeMutablePointer<Float>,
                                   image: UnsafeMutablePointer<Float>, gradImage: UnsafeMutablePointer<Float>) {
        let (h, w, bh, bw) = (s.height, s.width, s.binnedHeight, s.binnedWidth)
        @inline(__always) func inside(_ x: Float) -> Bool { x >= 0 && x <= 1 }
        if !s.reduces {
            parallelFor(s.imageCount, grain: 1 << 15) { r in
                for i in r { gradImage[i] = inside(image[i]) ? gradBinned[i] : 0 }
            }
            return
        }
        let rows: [Int], cols: [Int], ty: [LinearTap], tx: [LinearTap]
        if s.options.resize == .sampling {
            rows = s.sampleIndices(h); cols = s.sampleIndices(w); ty = []; tx = []
        } else {
            rows = []; cols = []
            ty = LinearTap.taps(input: h, output: bh); tx = LinearTap.taps(input: w, output: bw)
        }
        parallelFor(s.batch * 3, grain: 1) { planes in
            for plane in planes {
                let g = gradBinned + plane * bh * bw, dst = gradImage + plane * h * w, src = image + plane * h * w
                dst.update(repeating: 0, count: h * w)
                for i in 0..<bh {
                    for j in 0..<bw {
                        let v = g[i * bw + j]
                        if ty.isEmpty {
                            dst[rows[i] * w + cols[j]] += v
                        } else {
                            let y = ty[i], x = tx[j]
                            dst[y.i0 * w + x.i0] += y.w0 * x.w0 * v
                            dst[y.i0 * w + x.i1] += y.w0 * x.w1 * v
                            dst[y.i1 * w + x.i0] += y.w1 * x.w0 * v
                            dst[y.i1 * w + x.i1] += y.w1 * x.w1 * v
                        }
                    }
                }
                for i in 0..<(h * w) where !inside(src[i]) { dst[i] = 0 }
            }
        }
    }
}
