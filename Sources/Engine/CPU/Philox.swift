import Foundation

/// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random
/// numbers: as easy as 1, 2, 3" (SC 2011), with the constants of Random123, PyTorch and JAX.
/// `random.cl` implements the same function; the CPU backend and the tests use this one.
public enum Philox {
    public static let m0: UInt32 = 0xD251_1F53
    public static let m1: UInt32 = 0xCD9E_8D57
    public static let w0: UInt32 = 0x9E37_79B9
    public static let w1: UInt32 = 0xBB67_AE85
    public static let rounds = 10

    /// The four 32-bit outputs for `counter` under `key`.
    @inline(__always)
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter, k = key
        for r in 0..<rounds {
            if r > 0 { k &+= SIMD2(w0, w1) }
            let p0 = UInt64(m0) &* UInt64(c[0]), p1 = UInt64(m1) &* UInt64(c[2])
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c[1] ^ k[0], UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c[3] ^ k[1], UInt32(truncatingIfNeeded: p0))
        }
        return c
    }

    /// The block of `Backend.random`: key `(lo32(seed), hi32(seed))`, counter `(lo32(b), hi32(b), 0, 0)`.
    @inline(__always)
    public static func block(seed: UInt64, index b: UInt64) -> SIMD4<UInt32> {
        block(counter: SIMD4(UInt32(truncatingIfNeeded: b), UInt32(truncatingIfNeeded: b >> 32), 0, 0),
              key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// `(x >> 8)·2⁻²⁴`, uniform in [0, 1) on the 2²⁴ floats a float32 holds exactly.
    @inline(__always)
    public static func uniform(_ x: UInt32) -> Float { Float(x >> 8) * 0x1p-24 }

    /// Box–Muller on the lane pair `(a, b)`: `u1 = ((a >> 8) + 1)·2⁻²⁴` in (0, 1], `u2 = (b >> 8)·2⁻²⁴`,
    /// `r = sqrt(-2 ln u1)`; returns `(r·cos 2πu2, r·sin 2πu2)`, computed in Double.
    @inline(__always)
    public static func normalPair(_ a: UInt32, _ b: UInt32) -> (Float, Float) {
        let u1 = Double((a >> 8) + 1) * 0x1p-24, u2 = Double(b >> 8) * 0x1p-24
        let r = (-2 * log(u1)).squareRoot(), theta = 2 * Double.pi * u2
        return (Float(r * cos(theta)), Float(r * sin(theta)))
    }
}
