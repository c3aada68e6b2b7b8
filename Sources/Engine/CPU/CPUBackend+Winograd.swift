// Winograd F(m x m, 3x3) convolutions of the CPU backend, m = 2 or 4 (winograd.cl on OpenCL; the algebra and layouts
// are described there): the transforms as loops over channel planes in parallel, around the backend's batched `gemm`
// over the α² = (m + 2)² transform positions. Forward, grad-input (the rotated filter, channels swapped) and
// grad-weight, for `ConvAlgorithm.winogradApplies` shapes; the scaled and bias_act forms wrap these as they wrap the
// direct ones. F(2x2, 3x3)'s transforms are written out on SIMD4 rows; F(4x4, 3x3)'s are `WinogradF4x4`'s formulas.
extension CPUBackend {
    /// `auto` sends 3x3 stride-1 layers of at least this many channels (and 16x16 pixels) to Winograd.
    public static let winogradMinChannels = 256

    /// ... and from this many pixels per image (32x32) on to F(4x4, 3x3) rather than F(2x2, 3x3), as on OpenCL:
    /// `bench --device cpu --only modconv,conv3x3` ran the 256- and 512-channel rows (64x64 to 256x256) 1.15–1.41x
    /// faster by F(4x4).
    public static let winograd4x4MinPixels = 32 * 32

    /// The output block m of the Winograd algorithm the `convAlgorithm` policy runs `s` by, or nil for the direct kernels.
    func winogradBlock(_ s: Conv2dShape) -> Int? {
        convAlgorithm.algorithm(for: s, minChannels: Self.winogradMinChannels, min4x4Pixels: Self.winograd4x4MinPixels).winogradBlock
    }

    /// U `[α², O, C]` = G g Gᵀ of weight `[O, C, 3, 3]`, or with `flip` `[α², C, O]` of the filter rotated by 180°.
    private func winogradFilter(_ weight: UnsafeMutablePointer<Float>, _ t: WinogradTiles, o: Int, c: Int, flip: Bool) throws -> any Buffer {
        let u = try allocate(t.positions * o * c)
        let dst = try ptr(u, "winograd"), plane = o * c, block = t.block
        parallelFor(o * c, grain: 256) { range in
            for i in range {
                let (oi, ci) = (i / c, i % c), src = weight + i * 9
                // Rows of g (lane 3 unused), rotated by 180° under flip.
                func row(_ r: Int) -> SIMD4<Float> {
                    flip ? SIMD4(src[8 - 3 * r], src[7 - 3 * r], src[6 - 3 * r], 0) : SIMD4(src[3 * r], src[3 * r + 1], src[3 * r + 2], 0)
                }
                let (g0, g1, g2) = (row(0), row(1), row(2))
                let at = flip ? ci * o + oi : oi * c + ci
                if block == 2 {
                    func store(_ r: Int, _ v: SIMD4<Float>) {   // row r of G g, times Gᵀ
                        let (a, b, e) = (v[0], v[1], v[2])
                        dst[(4 * r) * plane + at] = a
                        dst[(4 * r + 1) * plane + at] = 0.5 * (a + b + e)
                        dst[(4 * r + 2) * plane + at] = 0.5 * (a - b + e)
                        dst[(4 * r + 3) * plane + at] = e
                    }
                    store(0, g0); store(1, 0.5 * (g0 + g1 + g2)); store(2, 0.5 * (g0 - g1 + g2)); store(3, g2)
                } else {
                    let rows = WinogradF4x4.g(g0, g1, g2)   // G g
                    func store(_ r: Int, _ v: SIMD4<Float>) {   // row r of G g, times Gᵀ
                        store6(dst, 6 * r * plane + at, plane, WinogradF4x4.g(v[0], v[1], v[2]))
                    }
                    store(0, rows.0); store(1, rows.1); store(2, rows.2); store(3, rows.3); store(4, rows.4); store(5, rows.5)
                }
            }
        }
        return u
    }

    /// `[α², channels, padded]`: for every m x m output tile (ti, tj) of every plane `src` of x `[N, channels, H, W]`, the
    /// α² values `transform(src, ti, tj, out)` writes to `out` (ξ = α·row + column), in column
    /// p = (n·tilesH + ti)·tilesW + tj, zeros for p ≥ P.
    private func transformTiles(_ x: UnsafeMutablePointer<Float>, _ s: Conv2dShape, _ t: WinogradTiles, channels: Int,
                                _ transform: @escaping (UnsafeMutablePointer<Float>, Int, Int, UnsafeMutablePointer<Float>) -> Void)
        throws -> any Buffer {
        let ld = t.padded, positions = t.positions
        let out = try allocate(positions * channels * ld)
        let dst = try ptr(out, "winograd"), plane = channels * ld
        parallelFor(s.batch * channels, grain: 1) { range in
            let values = UnsafeMutablePointer<Float>.allocate(capacity: positions)
            defer { values.deallocate() }
            for nc in range {
                let (n, c) = (nc / channels, nc % channels), src = x + nc * s.height * s.width
                for ti in 0..<t.tilesH {
                    for tj in 0..<t.tilesW {
                        transform(src, ti, tj, values)
                        let at = c * ld + (n * t.tilesH + ti) * t.tilesW + tj
                        for x in 0..<positions { dst[x * plane + at] = values[x] }
                    }
                }
            }
            // This chunk's channels' padding columns.
            for nc in range where nc / channels == s.batch - 1 {
                for x in 0..<positions { for p in t.count..<ld { dst[x * plane + (nc % channels) * ld + p] = 0 } }
            }
        }
        return out
    }

    /// V `[α², channels, padded]` = Bᵀ d B of the α x α patches d of x `[N, channels, H, W]` (zeros outside).
    private func winogradInput(_ x: UnsafeMutablePointer<Float>, _ s: Conv2dShape, _ t: WinogradTiles, channels: Int) throws -> any Buffer {
        let (hh, ww) = (s.height, s.width)
        if t.block == 2 {
            return try transformTiles(x, s, t, channels: channels) { src, ti, tj, out in
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
                func store(_ i: Int, _ r: SIMD4<Float>) { for j in 0..<4 { out[4 * i + j] = r[j] } }
                store(0, timesB(d0 - d2)); store(1, timesB(d1 + d2)); store(2, timesB(d2 - d1)); store(3, timesB(d1 - d3))
            }
        }
        return try transformTiles(x, s, t, channels: channels) { src, ti, tj, out in
            func row(_ i: Int) -> SIMD8<Float> {   // row i of the patch in lanes 0…5
                let h = 4 * ti - 1 + i
                guard h >= 0 && h < hh else { return .zero }
                var v = SIMD8<Float>.zero
                for j in 0..<6 where 4 * tj - 1 + j >= 0 && 4 * tj - 1 + j < ww { v[j] = src[h * ww + 4 * tj - 1 + j] }
                return v
            }
            let r = WinogradF4x4.bt(row(0), row(1), row(2), row(3), row(4), row(5))   // rows of Bᵀ d
            func store(_ i: Int, _ v: SIMD8<Float>) {   // row i, times B
                store6(out, 6 * i, 1, WinogradF4x4.bt(v[0], v[1], v[2], v[3], v[4], v[5]))
            }
            store(0, r.0); store(1, r.1); store(2, r.2); store(3, r.3); store(4, r.4); store(5, r.5)
        }
    }

    /// y `[N, rows, H, W]` = Aᵀ M A of M `[α², rows, ldm]`.
    private func winogradOutput(_ m: UnsafeMutablePointer<Float>, _ s: Conv2dShape, _ t: WinogradTiles, rows: Int, ldm: Int,
                                y: UnsafeMutablePointer<Float>) {
        let (hh, ww) = (s.height, s.width), plane = rows * ldm, block = t.block
        parallelFor(s.batch * rows, grain: 1) { range in
            for no in range {
                let (n, o) = (no / rows, no % rows), out = y + no * hh * ww
                for ti in 0..<t.tilesH {
                    for tj in 0..<t.tilesW {
                        let at = o * ldm + (n * t.tilesH + ti) * t.tilesW + tj
                        // Pixel (i, j) of this block, when inside the image.
                        func put(_ i: Int, _ j: Int, _ value: Float) {
                            let (h, w) = (block * ti + i, block * tj + j)
                            if h < hh && w < ww { out[h * ww + w] = value }
                        }
                        if block == 2 {
                            func row(_ i: Int) -> SIMD4<Float> {
                                SIMD4(m[(4 * i) * plane + at], m[(4 * i + 1) * plane + at], m[(4 * i + 2) * plane + at],
                                      m[(4 * i + 3) * plane + at])
                            }
                            let (m0, m1, m2, m3) = (row(0), row(1), row(2), row(3))
                            let (a, b) = (m0 + m1 + m2, m1 - m2 - m3)   // Aᵀ m
                            put(0, 0, a[0] + a[1] + a[2]); put(0, 1, a[1] - a[2] - a[3])   // (Aᵀ m) A
                            put(1, 0, b[0] + b[1] + b[2]); put(1, 1, b[1] - b[2] - b[3])
                        } else {
                            func row(_ i: Int) -> SIMD8<Float> {
                                var v = SIMD8<Float>.zero
                                for j in 0..<6 { v[j] = m[(6 * i + j) * plane + at] }
                                return v
                            }
                            let r = WinogradF4x4.at(row(0), row(1), row(2), row(3), row(4), row(5))   // Aᵀ m
                            func store(_ i: Int, _ v: SIMD8<Float>) {   // row i, times A
                                let y = WinogradF4x4.at(v[0], v[1], v[2], v[3], v[4], v[5])
                                put(i, 0, y.0); put(i, 1, y.1); put(i, 2, y.2); put(i, 3, y.3)
                            }
                            store(0, r.0); store(1, r.1); store(2, r.2); store(3, r.3)
                        }
                    }
                }
            }
        }
    }

    /// dM `[α², O, padded]` = A e Aᵀ of the m x m blocks e of dy `[N, O, H, W]` (the adjoint of the output transform).
    private func winogradGradOutput(_ dy: UnsafeMutablePointer<Float>, _ s: Conv2dShape, _ t: WinogradTiles) throws -> any Buffer {
        let (hh, ww) = (s.height, s.width)
        if t.block == 2 {
            return try transformTiles(dy, s, t, channels: s.outChannels) { src, ti, tj, out in
                let (h, w) = (2 * ti, 2 * tj)
                let e00 = src[h * ww + w], e01 = w + 1 < ww ? src[h * ww + w + 1] : 0
                let e10 = h + 1 < hh ? src[(h + 1) * ww + w] : 0
                let e11 = h + 1 < hh && w + 1 < ww ? src[(h + 1) * ww + w + 1] : 0
                // A = [1 0; 1 1; 1 −1; 0 −1]: the columns of A e; row i of A e Aᵀ is (a, a + b, a − b, −b) of its row (a, b).
                let (a, b) = (SIMD4(e00, e00 + e10, e00 - e10, -e10), SIMD4(e01, e01 + e11, e01 - e11, -e11))
                for i in 0..<4 {
                    out[4 * i] = a[i]; out[4 * i + 1] = a[i] + b[i]; out[4 * i + 2] = a[i] - b[i]; out[4 * i + 3] = -b[i]
                }
            }
        }
        return try transformTiles(dy, s, t, channels: s.outChannels) { src, ti, tj, out in
            func row(_ i: Int) -> SIMD4<Float> {   // row i of the block (zeros outside)
                let h = 4 * ti + i
                guard h < hh else { return .zero }
                var v = SIMD4<Float>.zero
                for j in 0..<4 where 4 * tj + j < ww { v[j] = src[h * ww + 4 * tj + j] }
                return v
            }
            let r = WinogradF4x4.a(row(0), row(1), row(2), row(3))   // rows of A e
            func store(_ i: Int, _ v: SIMD4<Float>) { store6(out, 6 * i, 1, WinogradF4x4.a(v[0], v[1], v[2], v[3])) }   // times Aᵀ
            store(0, r.0); store(1, r.1); store(2, r.2); store(3, r.3); store(4, r.4); store(5, r.5)
        }
    }

    /// y = conv2d(x, w) by Winograd F(`block` x `block`, 3x3) (`winogradApplies(s)`).
    func winogradConv2d(_ s: Conv2dShape, block: Int, x: any Buffer, weight: any Buffer, y: any Buffer) throws {
        try winogradConvolve(s, WinogradTiles(s, block: block), x, weight: weight, flip: false, output: y)
    }

    /// dx = conv2dGradInput(dy, w) by Winograd: the convolution of dy with the rotated filter, channels swapped.
    func winogradConv2dGradInput(_ s: Conv2dShape, block: Int, dy: any Buffer, weight: any Buffer, dx: any Buffer) throws {
        try winogradConvolve(s, WinogradTiles(s, block: block), dy, weight: weight, flip: true, output: dx)
    }

    /// The Winograd convolution of `x` with weight `[O, C, 3, 3]` into `output`: x has C channels and the output O, or
    /// with `flip` (grad-input) the rotated filter maps O to C.
    private func winogradConvolve(_ s: Conv2dShape, _ t: WinogradTiles, _ x: any Buffer, weight: any Buffer, flip: Bool,
                                  output: any Buffer) throws {
        let ldm = t.padded
        let (rows, depth) = flip ? (s.inChannels, s.outChannels) : (s.outChannels, s.inChannels)
        let u = try winogradFilter(try ptr(weight, "winograd"), t, o: s.outChannels, c: s.inChannels, flip: flip)
        let v = try winogradInput(try ptr(x, "winograd"), s, t, channels: depth)
        let m = try allocate(t.positions * rows * ldm)
        try gemm(GemmShape(m: rows, n: ldm, k: depth, batch: t.positions), a: u, b: v, c: m)
        winogradOutput(try ptr(m, "winograd"), s, t, rows: rows, ldm: ldm, y: try ptr(output, "winograd"))
    }

    /// dw = conv2dGradWeight(x, dy) by Winograd F(`block` x `block`, 3x3): dU[ξ] = dM[ξ]·V[ξ]ᵀ, then dw = Gᵀ dU G.
    func winogradConv2dGradWeight(_ s: Conv2dShape, block: Int, x: any Buffer, dy: any Buffer, dw: any Buffer) throws {
        let t = WinogradTiles(s, block: block), ld = t.padded, (o, c) = (s.outChannels, s.inChannels)
        let v = try winogradInput(try ptr(x, "conv2dGradWeight"), s, t, channels: c)
        let dm = try winogradGradOutput(try ptr(dy, "conv2dGradWeight"), s, t)
        let du = try allocate(t.positions * o * c)
        try gemm(GemmShape(m: o, n: c, k: ld, transB: true, batch: t.positions), a: dm, b: v, c: du)
        let src = try ptr(du, "conv2dGradWeight"), out = try ptr(dw, "conv2dGradWeight"), plane = o * c
        parallelFor(o * c, grain: 256) { range in
            for i in range {
                if block == 2 {
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
                } else {
                    func row(_ r: Int) -> SIMD8<Float> {
                        var v = SIMD8<Float>.zero
                        for j in 0..<6 { v[j] = src[(6 * r + j) * plane + i] }
                        return v
                    }
                    let r = WinogradF4x4.gt(row(0), row(1), row(2), row(3), row(4), row(5))   // rows of Gᵀ u
                    func store(_ k: Int, _ v: SIMD8<Float>) {   // row k, times G
                        let y = WinogradF4x4.gt(v[0], v[1], v[2], v[3], v[4], v[5])
                        out[i * 9 + 3 * k] = y.0; out[i * 9 + 3 * k + 1] = y.1; out[i * 9 + 3 * k + 2] = y.2
                    }
                    store(0, r.0); store(1, r.1); store(2, r.2)
                }
            }
        }
    }
}

/// Stores the six values of `y` at `p[offset + k·stride]`, k = 0…5.
@inline(__always)
private func store6(_ p: UnsafeMutablePointer<Float>, _ offset: Int, _ stride: Int,
                    _ y: (Float, Float, Float, Float, Float, Float)) {
    p[offset] = y.0; p[offset + stride] = y.1; p[offset + 2 * stride] = y.2
    p[offset + 3 * stride] = y.3; p[offset + 4 * stride] = y.4; p[offset + 5 * stride] = y.5
}
