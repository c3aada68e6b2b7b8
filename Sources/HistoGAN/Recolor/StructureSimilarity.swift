import Engine
import Foundation

/// Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004, reference `ssim_index.m`) between the
/// luminance `Y = 0.299R + 0.587G + 0.114B` of two images of the same size, in Float64:
/// 1. local statistics under an 11×11 Gaussian window (σ 1.5, normalised to sum 1), evaluated only where
///    the window fits inside the image ("valid", `(H − 10) × (W − 10)` positions, as `filter2(..., 'valid')`):
///    μa, μb, σa² = E[a²] − μa², σb², σab = E[ab] − μa·μb;
/// 2. `SSIM = (2μaμb + C1)(2σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2))`, C1 = (0.01·L)², C2 = (0.03·L)², L = 1;
/// 3. the mean over all positions.
/// Images are used at full resolution (the later `ssim.m` first downsamples images larger than 256 px;
/// we do not). Values are not clamped.
public enum StructureSimilarity {
    /// The window side.
    public static let window = 11
    /// The window's Gaussian σ.
    public static let sigma = 1.5
    static let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03

    /// Mean luminance SSIM of `a` and `b` (1 for identical images; lower for less similar structure).
    ///
    /// - Throws: `RecolorError.mismatchedSizes` unless the sizes agree, `.imageTooSmall` below 11×11,
    ///   `.nonFinite` for NaN or infinite values.
    public static func luminanceSSIM(_ a: Image, _ b: Image) throws -> Double {
        try RecolorCheck.sameSize(a, "first image", b, "second image")
        try RecolorCheck.size(a, atLeast: window, name: "image")
        try RecolorCheck.finite(a, name: "first image")
        try RecolorCheck.finite(b, name: "second image")
        let (w, h) = (a.width, a.height)
        let ya = luminance(a), yb = luminance(b)
        let g = gaussianWindow()
        let mu1 = validFilter(ya, w, h, g), mu2 = validFilter(yb, w, h, g)
        let s11 = validFilter(zip(ya, ya).map(*), w, h, g)
        let s22 = validFilter(zip(yb, yb).map(*), w, h, g)
        let s12 = validFilter(zip(ya, yb).map(*), w, h, g)
        var total = 0.0
        for i in mu1.indices {
            let m1 = mu1[i], m2 = mu2[i]
            let v1 = s11[i] - m1 * m1, v2 = s22[i] - m2 * m2, v12 = s12[i] - m1 * m2
            total += (2 * m1 * m2 + c1) * (2 * v12 + c2) / ((m1 * m1 + m2 * m2 + c1) * (v1 + v2 + c2))
        }
        return total / Double(mu1.count)
    }

    /// `Y = 0.299R + 0.587G + 0.114B` per pixel (`[height, width]`, row-major).
    public static func luminance(_ image: Image) -> [Double] {
        let n = image.width * image.height, p = image.pixels
        return (0..<n).map { 0.299 * Double(p[$0]) + 0.587 * Double(p[n + $0]) + 0.114 * Double(p[2 * n + $0]) }
    }

    /// The 1-D Gaussian `exp(−k²/2σ²)` for k = −5…5, normalised to sum 1 (its outer product is the 2-D window).
    static func gaussianWindow() -> [Double] {
        let half = window / 2
        let g = (-half...half).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let s = g.reduce(0, +)
        return g.map { $0 / s }
    }

    /// `plane` (`[h, w]`) correlated with the separable window `g ⊗ g`, valid positions only:
    /// `[(h − n + 1), (w − n + 1)]`.
    static func validFilter(_ plane: [Double], _ w: Int, _ h: Int, _ g: [Double]) -> [Double] {
        let n = g.count, ow = w - n + 1, oh = h - n + 1
        var mid = [Double](repeating: 0, count: h * ow)
        plane.withUnsafeBufferPointer { src in
            mid.withUnsafeMutableBufferPointer { dst in
                let (s, d) = (UncheckedBox(src), UncheckedBox(dst))
                RecolorParallel.chunks(h, grain: 8) { rows in
                    for y in rows {
                        for x in 0..<ow {
                            var acc = 0.0
                            for k in 0..<n { acc += g[k] * s.value[y * w + x + k] }
                            d.value[y * ow + x] = acc
                        }
                    }
                }
            }
        }
        var out = [Double](repeating: 0, count: oh * ow)
        mid.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let (s, d) = (UncheckedBox(src), UncheckedBox(dst))
                RecolorParallel.chunks(oh, grain: 8) { rows in
                    for y in rows {
                        for x in 0..<ow {
                            var acc = 0.0
                            for k in 0..<n { acc += g[k] * s.value[(y + k) * ow + x] }
                            d.value[y * ow + x] = acc
                        }
                    }
                }
            }
        }
        return out
    }
}
