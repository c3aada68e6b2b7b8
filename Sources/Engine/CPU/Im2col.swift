// im2col / col2im of the CPU backend's convolution (CPUBackend+Conv2d.swift).
//
// The column matrix of one sample is `[C·kh·kw, outH·outW]`: row `(c·kh + ky)·kw + kx`, column
// `oy·outW + ox` holds `x[c, oy·stride − padH + ky, ox·stride − padW + kx]` (0 outside the image).
// The convolution builds it in blocks (a range of rows and a range of pixels, from the channels of
// one group); col2im scatters a whole one back (the stride-2 grad-input path).
extension CPUBackend {
    /// Valid output range along one axis: the `o` with `0 <= o·stride + offset < size`.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, size: Int, count: Int) -> Range<Int> {
        // o >= ceil(-offset / stride), o <= floor((size - 1 - offset) / stride)
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let top = size - 1 - offset
        let hi = top < 0 ? 0 : min(count, top / stride + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Writes rows `rows` and columns `pixels` of the column matrix of one sample (or one group of it)
    /// `x` `[C, H, W]` into `col` `[rows.count, pixels.count]`. Runs on the calling thread; each row is
    /// walked one output row (segment of the pixel range) at a time: zeros where the tap falls in the
    /// padding, a block copy (stride 1) or a strided gather in between.
    func im2col(_ s: Conv2dShape, x: UnsafePointer<Float>, rows: Range<Int>, pixels: Range<Int>,
                col: UnsafeMutablePointer<Float>) {
        let kk = s.kernelH * s.kernelW, plane = s.height * s.width
        let outH = s.outHeight, outW = s.outWidth, width = pixels.count
        let firstRow = pixels.lowerBound / outW, firstColumn = pixels.lowerBound % outW
        for r in rows {
            let c = r / kk, ky = (r % kk) / s.kernelW, kx = r % s.kernelW
            let src = x + c * plane, dst = col + (r - rows.lowerBound) * width - pixels.lowerBound
            let oys = Self.validRange(offset: ky - s.padH, stride: s.stride, size: s.height, count: outH)
            let oxs = Self.validRange(offset: kx - s.padW, stride: s.stride, size: s.width, count: outW)
            // Output rows of the block: the first may start mid-row, then whole rows, the last may end early.
            var p = pixels.lowerBound, oy = firstRow, ox0 = firstColumn
            while p < pixels.upperBound {
                let ox1 = min(outW, ox0 + pixels.upperBound - p)
                let row = dst + oy * outW          // row[ox] is pixel (oy, ox)
                let lo = min(max(ox0, oxs.lowerBound), ox1), hi = max(min(ox1, oxs.upperBound), lo)
                if !oys.contains(oy) || lo == hi {
                    Self.zero(row + ox0, ox1 - ox0)
                } else {
                    Self.zero(row + ox0, lo - ox0)
                    let srcRow = src + (oy * s.stride - s.padH + ky) * s.width + kx - s.padW
                    if s.stride == 1 {
                        Self.copy(srcRow + lo, to: row + lo, hi - lo)
                    } else {
                        for ox in lo..<hi { row[ox] = srcRow[ox * s.stride] }
                    }
                    Self.zero(row + hi, ox1 - hi)
                }
                p += ox1 - ox0
                oy += 1
                ox0 = 0
            }
        }
    }

    /// Segments are short (an output row: 4 to a few hundred floats), so inline SIMD8 loops beat
    /// `memmove`/`memset` calls.
    @inline(__always)
    static func copy(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n { store(load(src + i), dst + i); i += 8 }
        while i < n { dst[i] = src[i]; i += 1 }
    }

    @inline(__always)
    static func zero(_ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n { store(Float8(), dst + i); i += 8 }
        while i < n { dst[i] = 0; i += 1 }
    }

    /// Overwrites one sample's `dx` `[C, H, W]` with the sum of the column matrix `col`
    /// `[C·kh·kw, outH·outW]` scattered back to the pixels each column entry was read from.
    func col2im(_ s: Conv2dShape, col: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>) {
        let kk = s.kernelH * s.kernelW, plane = s.height * s.width
        let outH = s.outHeight, outW = s.outWidth, pixels = outH * outW
        // Each channel owns its kh·kw rows and its plane of dx: no two threads write the same element.
        parallelFor(s.inChannels, grain: max(1, 8192 / (kk * pixels))) { channels in
            for c in channels {
                let dst = dx + c * plane
                dst.update(repeating: 0, count: plane)
                for r in c * kk ..< (c + 1) * kk {
                    let ky = (r % kk) / s.kernelW, kx = r % s.kernelW
                    let src = col + r * pixels
                    let oys = Self.validRange(offset: ky - s.padH, stride: s.stride, size: s.height, count: outH)
                    let oxs = Self.validRange(offset: kx - s.padW, stride: s.stride, size: s.width, count: outW)
                    for oy in oys {
                        let dstRow = dst + (oy * s.stride - s.padH + ky) * s.width + kx - s.padW
                        let srcRow = src + oy * outW
                        for ox in oxs { dstRow[ox * s.stride] += srcRow[ox] }
                    }
                }
            }
        }
    }
}
