// Eight Philox blocks at a time, and Box–Muller in vectorised Float (CPU backend's `random`).
//
// `Philox.block` and `random.cl` are the definitions; lane i of `Philox8.blocks(seed:first:)` is
// `Philox.block(seed:index: first + i)`, bit for bit. The normal transform follows `random.cl`'s
// `normal4` (Float `log`, `cospi`, `sinpi`) with the polynomials below, each within a few ulp, so the CPU
// agrees with the OpenCL kernel to float rounding; a block's numbers never depend on its neighbours,
// so they do not depend on the thread count or on where a call starts.

typealias UInt32x8 = SIMD8<UInt32>

enum Philox8 {
    /// Philox4x32-10 of counters `(lo32(first + i), hi32(first + i), 0, 0)` for lanes i < 8, key
    /// `(lo32(seed), hi32(seed))`: element `[w][i]` is word w of block `first + i`.
    @inline(__always)
    static func blocks(seed: UInt64, first: UInt64) -> (UInt32x8, UInt32x8, UInt32x8, UInt32x8) {
        var index = SIMD8<UInt64>(repeating: first) &+ SIMD8<UInt64>(0, 1, 2, 3, 4, 5, 6, 7)
        var c0 = UInt32x8(truncatingIfNeeded: index)
        index &>>= 32
        var c1 = UInt32x8(truncatingIfNeeded: index), c2 = UInt32x8(), c3 = UInt32x8()
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for r in 0..<Philox.rounds {
            if r > 0 { k0 &+= Philox.w0; k1 &+= Philox.w1 }
            let (hi0, lo0) = mulFull(c0, Philox.m0), (hi1, lo1) = mulFull(c2, Philox.m1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }

    /// High and low 32 bits of `x·m` per lane. The lanes are viewed as four 64-bit pairs: the even
    /// lanes (low halves) and the odd lanes (shifted down) each make one 32×32 → 64 multiply
    /// (vpmuludq), and the halves are recombined in place, without shuffles.
    @inline(__always)
    static func mulFull(_ x: UInt32x8, _ m: UInt32) -> (hi: UInt32x8, lo: UInt32x8) {
        let pairs = unsafeBitCast(x, to: SIMD4<UInt64>.self), low: UInt64 = 0xFFFF_FFFF
        let even = (pairs & low) &* UInt64(m), odd = (pairs &>> 32) &* UInt64(m)
        let lo = (even & low) | (odd &<< 32), hi = (even &>> 32) | (odd & ~low)
        return (unsafeBitCast(hi, to: UInt32x8.self), unsafeBitCast(lo, to: UInt32x8.self))
    }

    /// `(x >> 8)·2⁻²⁴` per lane (`Philox.uniform`, exact).
    @inline(__always)
    static func uniform(_ x: UInt32x8) -> Float8 { toFloat(x &>> 8) * 0x1p-24 }

    /// Box–Muller of the lane pairs `(a, b)`: `u1 = ((a >> 8) + 1)·2⁻²⁴` in (0, 1], `u2 = (b >> 8)·2⁻²⁴`,
    /// `r = sqrt(-2 ln u1)`, returns `(r·cos 2πu2, r·sin 2πu2)`.
    @inline(__always)
    static func normalPair(_ a: UInt32x8, _ b: UInt32x8) -> (Float8, Float8) {
        let u1 = toFloat((a &>> 8) &+ 1) * 0x1p-24
        let r = squareRoot(-2 * log(u1))
        let (c, s) = cosSinTwoPi(b &>> 8)
        return (r * c, r * s)
    }

    // The helpers below use only lane-wise arithmetic and bit operations (blends as masked XORs):
    // Swift's generic Float→Int conversion and integer comparisons against a scalar compile to per-lane
    // loops, and LLVM may turn a `replacing(with:where:)` into per-lane branches.

    /// Lanes below 2³¹ as Float (signed conversion, one instruction).
    @inline(__always)
    static func toFloat(_ x: UInt32x8) -> Float8 { Float8(unsafeBitCast(x, to: SIMD8<Int32>.self)) }

    /// √x for x ≥ 0 (0 included): x·rsqrt(x), the reciprocal root from the bit-level first guess
    /// refined by three Newton steps (relative error ~1e-7). Written out because `SIMD8.squareRoot()`
    /// compiles to one `sqrtf` call per lane.
    @inline(__always)
    static func squareRoot(_ x: Float8) -> Float8 {
        var y = unsafeBitCast(0x5F37_5A86 &- (unsafeBitCast(x, to: UInt32x8.self) &>> 1), to: Float8.self)
        let half = x * 0.5
        for _ in 0..<3 { y = y * (1.5 - half * y * y) }
        return x * y
    }

    /// Natural log of positive normal floats: u = 2^e·m with m in [√½, √2), ln m = 2·atanh(t) with
    /// t = (m − 1)/(m + 1) (|t| ≤ 0.172, series to t⁹), ln u = e·ln2 + ln m with ln2 split in two so
    /// e·ln2_hi is exact.
    @inline(__always)
    static func log(_ u: Float8) -> Float8 {
        let bits = unsafeBitCast(u, to: UInt32x8.self)
        var e = (bits &>> 23) &- 127
        var mBits = (bits & 0x007F_FFFF) | 0x3F80_0000                      // m in [1, 2)
        // m > √2: halve m (exponent field − 1) and add 1 to e; `big` is all ones in those lanes.
        let big = unsafeBitCast(unsafeBitCast(mBits, to: Float8.self) .> 1.41421356, to: UInt32x8.self)
        mBits &-= big & 0x0080_0000
        e &-= big                                                           // − (−1)
        let m = unsafeBitCast(mBits, to: Float8.self)
        let t = (m - 1) / (m + 1), t2 = t * t
        var series = t2 * Float(1.0 / 9) + Float(1.0 / 7)
        series = series * t2 + Float(1.0 / 5)
        series = series * t2 + Float(1.0 / 3)
        series *= t2
        let lnM = 2 * t + 2 * t * series
        let ef = Float8(unsafeBitCast(e, to: SIMD8<Int32>.self))
        return ef * Float(0.693359375) + (ef * Float(-2.12194440e-4) + lnM)
    }

    /// `(cos 2πt, sin 2πt)` for t = k·2⁻²⁴, k < 2²⁴ (`cospi(2t)`, `sinpi(2t)`): quadrant q = round(4t) =
    /// (k + 2²¹) >> 22, exact remainder f = t − q/4 in [−⅛, ⅛], θ = 2πf in [−π/4, π/4] through Cephes'
    /// sinf/cosf polynomials, then rotated by q quarter turns.
    @inline(__always)
    static func cosSinTwoPi(_ k: UInt32x8) -> (Float8, Float8) {
        let q = (k &+ (1 << 21)) &>> 22
        let f = Float8(unsafeBitCast(k &- (q &<< 22), to: SIMD8<Int32>.self)) * 0x1p-24
        let theta = f * Float(6.28318530717958647692)
        let z = theta * theta
        var s = z * Float(-1.9515295891e-4) + Float(8.3321608736e-3)
        s = s * z + Float(-1.6666654611e-1)
        s = s * z * theta + theta
        var c = z * Float(2.443315711809948e-5) + Float(-1.388731625493765e-3)
        c = c * z + Float(4.166664568298827e-2)
        c = c * z * z - z * Float(0.5) + Float(1)
        // Quarter turns: q = 1 → (−sin, cos), 2 → (−cos, −sin), 3 → (sin, −cos). Odd q swaps the pair;
        // the cosine is negated for q in {1, 2} (bit 1 of q + 1), the sine for q in {2, 3} (bit 1 of q).
        // All in integer bit operations (no selects): swap is all ones for odd q.
        let cBits = unsafeBitCast(c, to: UInt32x8.self), sBits = unsafeBitCast(s, to: UInt32x8.self)
        let swap = 0 &- (q & 1), exchange = (cBits ^ sBits) & swap
        let cosSign = ((q &+ 1) & 2) &<< 30, sinSign = (q & 2) &<< 30
        return (unsafeBitCast(cBits ^ exchange ^ cosSign, to: Float8.self),
                unsafeBitCast(sBits ^ exchange ^ sinSign, to: Float8.self))
    }
}
