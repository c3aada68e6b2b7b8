// Winograd F(2x2, 3x3) convolutions of the CPU backend (winograd.cl on OpenCL; the algebra and layouts are
// described there): the transforms as loops over channel planes in parallel, around the backend's batched `gemm`
// over the 16 transform positions. Forward, grad-input (the rotated filter, channels swapped) and grad-weight, for
// `ConvAlgorithm.winogradApplies` shapes; the scaled and bias_act forms wrap these as they wrap the direct ones.
extension CPUBackend {
    /// `auto` sends 3x3 stride-1 layers of at least this many channels (and 16x16 pixels) to Winograd.
    public static let winogradMinChannels = 256

    /// U `[16, O, C]` = G g Gᵀ of weight `[O, C, 3, 3]`, or with `flip` `[16, C, O]` of the filter rotated by 180°.
    private func winogradFilter(_ weight: UnsafeMutablePointer<Float>, o: Int, c: Int, flip: Bool) throws -> any Buffer {
        let u = try allocate(16 * o * c)
        let dst = try ptr(u, "winograd"), plane = o * c
        parallelFor(o * c, grain: 256) { range in
            for i in range {
                let (oi, ci) = (i / c, i % c), src = weight + i * 9
                // Rows of g (lane 3 unused), rotated by 180° under flip.
                func row(_ r: Int) -> SIMD4<Float> {
                    flip ? SIMD4(src[8 - 3 * r], src[7 - 3 * r], src[6 - 3 * r], 0) : SIMD4(src[3 * r], src[3 * r + 1], src[3 * r + 2], 0)
                }
                let (g0, g1, g2) = (row(0), row(1), row(2))
                let at = flip ? ci * o + oi : oi * c + ci
                func store(_ r: Int, _ v: SIMD4<Float>) {   // row r of G g, times Gᵀ
                    let (a, b, e) = (v[0], v[1], v[2])
                    dst[(4 * r) * plane + at] = a
                    dst[(4 * r + 1) * plane + at] = 0.5 * (a + b + e)
                    dst[(4 * r + 2) * plane + at] = 0.5 * (a - b + e)
                    dst[(4 * r + 3) * plane + at] = e
                }
                store(0, g0); store(1, 0.5 * (g0 + g1 + g2)); store(2, 0.5 * (g0 - g1 + g2)); store(3, g2)
            }
        }
        return u
    }

    /// `[16, channels, padded]`: for every 2x2 output tile (ti, tj) of every plane `src` of x `[N, channels, H, W]`, the
    /// 16 values `transform(src, ti, tj)` (ξ = 4·row + column) in column p = (n·tilesH + ti)·tilesW + tj, zeros for p ≥ P.
    private func transformTiles(_ x: UnsafeMutablePointer<Float>, _ s: Conv2dShape, channels: Int,
                                _ transform: @escaping (UnsafeMutablePointer<Float>, Int, Int) -> SIMD16<Float>) throws -> any Buffer {
        let t = WinogradTiles(s), ld = t.padded
        let out = try allocate(16 * channels * ld)
        let dst = try ptr(out, "winograd"), plane = channels * ld
        parallelFor(s.batch * channels, grain: 1) { range in
            for nc in range {
                let (n, c) = (nc / channels, nc % channels), src = x + nc * s.height * s.width
                for ti in 0..<t.tilesH {
                    for tj in 0..<t.tilesW {
                        let values = transform(src, ti, tj)
                        let at = c * ld + (n * t.tilesH + ti) * t.tilesW + tj
                        for x in 0..<16 { dst[x * plane + at] = values[x] }
                    }
                }
            }
            // This chunk's channels' padding columns.
            for nc in range where nc / channels == s.batch - 1 {
                for x in 0..<16 { for p in t.count..<ld { dst[x * plane + (nc % channels) * ld + p] = 0 } }
            }
        }
        return out
    }

    /// V `[16, channels, padded]` = Bᵀ d B of the 4x4 patches d of x `[N, channels, H, W]` (zeros outside).
    private func winogradInput(_ x: UnsafeMutablePointer<Float>, _ s: Conv2dShape, channels: Int) throws -> any Buffer {
        let (hh, ww) = (s.height, s.width)
        return try transformTiles(x, s, channels: channels) { src, ti, tj in
            func row(_ i: Int) -> SIMD4<Float> {   // row i of the patch
                let h = 2 * ti - 1 + i
                guard h >= 0 && h < hh else { return .zero }
                var v = SIMD4<Float>.zero
                for j in 0..<4 where 2 * tj - 1 + j >= 0 && 2 * tj - 1 + j < ww { v[j] = src[h * ww + 2 * tj - 1 + j] }
                return v
            }
            let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3))
            func timesB(_ r: SIMD4<Float>) -> SIMD4<Float> { SIMD4(r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]) }
            // Rows of Bᵀ d, each times B.
            return SIMD16(lowHalf: SIMD8(lowHalf: timesB(d0 - d2), highHalf: timesB(d1 + d2)),
                          highHalf: SIMD8(lowHalf: timesB(d2 - d1), highHalf: timesB(d1 - d3)))
        }
    }

    /// y `[N, rows, H, W]` = Aᵀ M A of M `[16, rows, ldm]`.
    private func winogradOutput(_ m: UnsafeMutablePointer<Float>, _ s: Conv2dShape, rows: Int, ldm: Int,
                                y: UnsafeMutablePointer<Float>) {
        let t = WinogradTiles(s), (hh, ww) = (s.height, s.width), plane = rows * ldm
        parallelFor(s.batch * rows, grain: 1) { range in
            for no in range {
                let (n, o) = (no / rows, no % rows), out = y + no * hh * ww
                for ti in 0..<t.tilesH {
                    for tj in 0..<t.tilesW {
                        let at = o * ldm + (n * t.tilesH + ti) * t.tilesW + tj
                        func row(_ i: Int) -> SIMD4<Float> {
                            SIMD4(m[(4 * i) * plane + at], m[(4 * i + 1) * plane + at], m[(4 * i + 2) * plane + at],
                                  m[(4 * i + 3) * plane + at])
                        }
                        let (m0, m1, m2, m3) = (row(0), row(1), row(2), row(3))
                        let (a, b) = (m0 + m1 + m2, m1 - m2 - m3)   // Aᵀ m
                        let r = (a[0] + a[1] + a[2], a[1] - a[2] - a[3], b[0] + b[1] + b[2], b[1] - b[2] - b[3])   // (Aᵀ m) A
                        let (h, w) = (2 * ti, 2 * tj)
                        out[h * ww + w] = r.0
                        if w + 1 < ww { out[h * ww + w + 1] = r.1 }
                        if h + 1 < hh {
                            out[(h + 1) * ww + w] = r.2
                            if w + 1 < ww { out[(h + 1) * ww + w + 1] = r.3 }
                        }
                    }
                }
            }
        }
    }

    /// dM `[16, O, padded]` = A e Aᵀ of the 2x2 blocks e of dy `[N, O, H, W]` (the adjoint of the output transform).
    private func winogradGradOutput(_ dy: UnsafeMutablePointer<Float>, _ s: Conv2dShape) throws -> any Buffer {
        let (hh, ww) = (s.height, s.width)
        return try transformTiles(dy, s, channels: s.outChannels) { src, ti, tj in
            let (h, w) = (2 * ti, 2 * tj)
            let e00 = src[h * ww + w], e01 = w + 1 < ww ? src[h * ww + w + 1] : 0
            let e10 = h + 1 < hh ? src[(h + 1) * ww + w] : 0
            let e11 = h + 1 < hh && w + 1 < ww ? src[(h + 1) * ww + w + 1] : 0
            // A = [1 0; 1 1; 1 −1; 0 −1]: the columns of A e; row i of A e Aᵀ is (a, a + b, a − b, −b) of its row (a, b).
            let (a, b) = (SIMD4(e00, e00 + e10, e00 - e10, -e10), SIMD4(e01, e01 + e11, e01 - e11, -e11))
            func row(_ i: Int) -> SIMD4<Float> { SIMD4(a[i], a[i] + b[i], a[i] - b[i], -b[i]) }
            return SIMD16(lowHalf: SIMD8(lowHalf: row(0), highHalf: row(1)), highHalf: SIMD8(lowHalf: row(2), highHalf: row(3)))
        }
    }

    /// y = conv2d(x, w) by Winograd (`winogradApplies(s)`).
    func winogradConv2d(_ s: Conv2dShape, x: any Buffer, weight: any Buffer, y: any Buffer) throws {
        try winogradConvolve(s, x, weight: weight, flip: false, output: y)
    }

    /// dx = conv2dGradInput(dy, w) by Winograd: the convolution of dy with the rotated filter, channels swapped.
    func winogradConv2dGradInput(_ s: Conv2dShape, dy: any Buffer, weight: any Buffer, dx: any Buffer) throws {
        try winogradConvolve(s, dy, weight: weight, flip: true, output: dx)
    }

    /// The Winograd convolution of `x` with weight `[O, C, 3, 3]` into `output`: x has C channels and the output O, or
    /// with `flip` (grad-input) the rotated filter maps O to C.
    private func winogradConvolve(_ s: Conv2dShape, _ x: any Buffer, weight: any Buffer, flip: Bool, output: any Buffer) throws {
        let ldm = WinogradTiles(s).padded
        let (rows, depth) = flip ? (s.inChannels, s.outChannels) : (s.outChannels, s.inChannels)
        let u = try winogradFilter(try ptr(weight, "winograd"), o: s.outChannels, c: s.inChannels, flip: flip)
        let v = try winogradInput(try ptr(x, "winograd"), s, channels: depth)
        let m = try allocate(16 * rows * ldm)
        try gemm(GemmShape(m: rows, n: ldm, k: depth, batch: 16), a: u, b: v, c: m)
        winogradOutput(try ptr(m, "winograd"), s, rows: rows, ldm: ldm, y: try ptr(output, "winograd"))
    }

    /// dw = conv2dGradWeight(x, dy) by Winograd: dU[ξ] = dM[ξ]·V[ξ]ᵀ, then dw = Gᵀ dU G.
    func winogradConv2dGradWeight(_ s: Conv2dShape, x: any Buffer, dy: any Buffer, dw: any Buffer) throws {
        let ld = WinogradTiles(s).padded, (o, c) = (s.outChannels, s.inChannels)
        let v = try winogradInput(try ptr(x, "conv2dGradWeight"), s, channels: c)
        let dm = try winogradGradOutput(try ptr(dy, "conv2dGradWeight"), s)
        let du = try allocate(16 * o * c)
        try gemm(GemmShape(m: o, n: c, k: ld, transB: true, batch: 16), a: dm, b: v, c: du)
        let src = try ptr(du, "conv2dGradWeight"), out = try ptr(dw, "conv2dGradWeight"), plane = o * c
        parallelFor(o * c, grain: 256) { range in
            for i in range {
                // Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]: rows of Gᵀ u, then each times G.
                func row(_ r: Int) -> SIMD4<Float> {
                    SIMD4(src[(4 * r) * plane + i], src[(4 * r + 1) * plane + i], src[(4 * r + 2) * plane + i],
                          src[(4 * r + 3) * plane + i])
                }
                let (u0, u1, u2, u3) = (row(0), row(1), row(2), row(3))
                func store(_ r: Int, _ v: SIMD4<Float>) {   // row r of Gᵀ u, times G
                    out[i * 9 + 3 * r] = v[0] + 0.5 * (v[1] + v[2])
                    out[i * 9 + 3 * r + 1] = 0.5 * (v[1] - v[2])
                    out[i * 9 + 3 * r + 2] = 0.5 * (v[1] + v[2]) + v[3]
                }
                store(0, u0 + 0.5 * (u1 + u2)); store(1, 0.5 * (u1 - u2)); store(2, 0.5 * (u1 + u2) + u3)
            }
        }
    }
}
