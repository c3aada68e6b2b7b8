import Engine
import Foundation

/// An independent, naive Double implementation of HistoGAN's `RGBuvHistBlock` (DESIGN.md section 6),
/// written from the definition with plain loops: clamp, optional reduce, per-pixel Iy and (u, v), a
/// triple loop over pixels and bins, normalisation. Used as the oracle for both backends.
enum HistogramReference {
    static let eps = 1e-6

    /// `[N, 3, bins, bins]` of images `[N, 3, H, W]`.
    static func histogram(_ images: [Double], batch: Int, height: Int, width: Int, options: HistogramOptions) -> [Double] {
        let bins = options.bins
        var out = [Double](repeating: 0, count: batch * 3 * bins * bins)
        let centres = linspace(-3, 3, bins)
        for n in 0..<batch {
            let (pixels, _, _) = reduce(images, n: n, height: height, width: width, options: options)
            var hist = [Double](repeating: 0, count: 3 * bins * bins)
            for px in pixels {
                let (r, g, b) = px
                let iy = (r * r + g * g + b * b + eps).squareRoot()
                let l = [log(r + eps), log(g + eps), log(b + eps)]
                let pairs = [(l[0] - l[1], l[0] - l[2]), (l[1] - l[0], l[1] - l[2]), (l[2] - l[0], l[2] - l[1])]
                for c in 0..<3 {
                    let (u, v) = pairs[c]
                    for i in 0..<bins {
                        let ku = kernel(abs(u - centres[i]), options)
                        if ku == 0 { continue }
                        for j in 0..<bins { hist[(c * bins + i) * bins + j] += iy * ku * kernel(abs(v - centres[j]), options) }
                    }
                }
            }
            let total = hist.reduce(0, +)
            for k in hist.indices { out[n * 3 * bins * bins + k] = hist[k] / (total + eps) }
        }
        return out
    }

    /// The kernel of DESIGN.md section 6 at distance d.
    static func kernel(_ d: Double, _ options: HistogramOptions) -> Double {
        let s = Double(options.sigma)
        switch options.kernel {
        case .inverseQuadratic: return 1 / (1 + d * d / (s * s))
        case .gaussian: return exp(-d * d / (s * s))
        case .threshold: return d <= (6 / Double(options.bins)) / 2 ? 1 : 0
        }
    }

    /// NumPy `linspace(a, b, n)` (endpoint included).
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        guard n > 1 else { return [a] }
        let step = (b - a) / Double(n - 1)
        return (0..<n).map { $0 == n - 1 ? b : Double($0) * step + a }
    }

    /// The clamped, reduced pixels of image n (row-major) and the reduced size.
    static func reduce(_ images: [Double], n: Int, height h: Int, width w: Int,
                       options: HistogramOptions) -> ([(Double, Double, Double)], Int, Int) {
        func at(_ c: Int, _ y: Int, _ x: Int) -> Double { min(max(images[((n * 3 + c) * h + y) * w + x], 0), 1) }
        let big = h > options.maxSize || w > options.maxSize
        if !big {
            return ((0..<(h * w)).map { (at(0, $0 / w, $0 % w), at(1, $0 / w, $0 % w), at(2, $0 / w, $0 % w)) }, h, w)
        }
        if options.resize == .sampling {
            // np.linspace(0, size, bins, endpoint=False) truncated to integers, as torch.LongTensor does.
            let rows = (0..<options.bins).map { Int(Double($0) * (Double(h) / Double(options.bins))) }
            let cols = (0..<options.bins).map { Int(Double($0) * (Double(w) / Double(options.bins))) }
            var out: [(Double, Double, Double)] = []
            for y in rows { for x in cols { out.append((at(0, y, x), at(1, y, x), at(2, y, x))) } }
            return (out, rows.count, cols.count)
        }
        let m = options.maxSize
        let ty = bilinear(h, m), tx = bilinear(w, m)
        var out: [(Double, Double, Double)] = []
        for (y0, y1, ly) in ty {
            for (x0, x1, lx) in tx {
                func value(_ c: Int) -> Double {
                    (1 - ly) * ((1 - lx) * at(c, y0, x0) + lx * at(c, y0, x1)) + ly * ((1 - lx) * at(c, y1, x0) + lx * at(c, y1, x1))
                }
                out.append((value(0), value(1), value(2)))
            }
        }
        return (out, m, m)
    }

    /// PyTorch bilinear `align_corners=False` source taps (i0, i1, λ) of each output index, in Double.
    static func bilinear(_ input: Int, _ output: Int) -> [(Int, Int, Double)] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { o in
            let src = max(scale * (Double(o) + 0.5) - 0.5, 0)
            let i0 = min(Int(src.rounded(.down)), input - 1)
            return (i0, min(i0 + 1, input - 1), min(max(src - Double(i0), 0), 1))
        }
    }

    /// Central finite differences in Double of `Σ weights · histogram(images)` w.r.t. each image element.
    static func gradient(_ images: [Double], weights: [Double], batch: Int, height: Int, width: Int,
                         options: HistogramOptions, step: Double = 1e-6) -> [Double] {
        func loss(_ x: [Double]) -> Double {
            zip(histogram(x, batch: batch, height: height, width: width, options: options), weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var x = images
        return images.indices.map { k in
            x[k] = images[k] + step
            let plus = loss(x)
            x[k] = images[k] - step
            let minus = loss(x)
            x[k] = images[k]
            return (plus - minus) / (2 * step)
        }
    }
}
