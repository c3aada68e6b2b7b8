import Foundation

/// The per-pixel arithmetic of the RGB-uv histogram on the CPU (mirrored by `histogram.cl`):
/// the log-chroma features of a pixel, the bin kernel and its derivative, and a SIMD
/// row-times-matrix product that both the forward and the backward GEMM-shaped loops use.
struct HistogramMath {
    let bins: Int
    /// `bins` rounded up to a multiple of 8 (SIMD width); padded columns hold zeros.
    let paddedBins: Int
    let centres: [Float]
    /// `centres` padded with zeros to `paddedBins`, and 1 for real bins, 0 for padding.
    let paddedCentres: [Float], mask: [Float]
    let kernel: HistogramKernel
    /// `1 / σ²`.
    let inverseSigma2: Float
    let halfWidth: Float
    static let eps = HistogramShape.epsilon

    init(_ s: HistogramShape) {
        bins = s.bins
        paddedBins = (s.bins + 7) / 8 * 8
        centres = s.binCentres
        paddedCentres = centres + [Float](repeating: 0, count: paddedBins - bins)
        mask = [Float](repeating: 1, count: bins) + [Float](repeating: 0, count: paddedBins - bins)
        kernel = s.options.kernel
        let sigma = Double(s.options.sigma)
        inverseSigma2 = Float(1 / (sigma * sigma))
        halfWidth = s.thresholdHalfWidth
    }

    /// `Iy = sqrt(R² + G² + B² + eps)` and the six log-chroma coordinates of one pixel, in the order
    /// (u_R, v_R, u_G, v_G, u_B, v_B): R: log R − log G, log R − log B; G: log G − log R, log G − log B;
    /// B: log B − log R, log B − log G (each log of `x + eps`).
    @inline(__always)
    static func features(_ r: Float, _ g: Float, _ b: Float) -> (iy: Float, uv: (Float, Float, Float, Float, Float, Float)) {
        let iy = (r * r + g * g + b * b + eps).squareRoot()
        let lr = Foundation.log(r + eps), lg = Foundation.log(g + eps), lb = Foundation.log(b + eps)
        return (iy, (lr - lg, lr - lb, lg - lr, lg - lb, lb - lr, lb - lg))
    }

    typealias Lanes = SIMD8<Float>

    /// k(d) on eight lanes, d = u − t: inverse-quadratic `1 / (1 + d²/σ²)`, Gaussian `exp(−d²/σ²)`,
    /// threshold `|d| ≤ (6 / bins) / 2`.
    @inline(__always)
    func values(_ d: Lanes) -> Lanes {
        switch kernel {
        case .inverseQuadratic: return 1 / (1 + d * d * inverseSigma2)
        case .gaussian:
            let a = -(d * d * inverseSigma2)
            var r = Lanes()
            for l in 0..<8 { r[l] = Foundation.exp(a[l]) }
            return r
        case .threshold:
            return Lanes(repeating: 0).replacing(with: 1, where: d.replacing(with: -d, where: d .< 0) .<= halfWidth)
        }
    }

    /// (k(d), dk/dd) on eight lanes, d = u − t signed; the threshold kernel has derivative 0.
    @inline(__always)
    func valuesAndSlopes(_ d: Lanes) -> (Lanes, Lanes) {
        let k = values(d)
        switch kernel {
        case .inverseQuadratic: return (k, -2 * d * inverseSigma2 * k * k)
        case .gaussian: return (k, -2 * d * inverseSigma2 * k)
        case .threshold: return (k, Lanes())
        }
    }

    /// Writes `scale · k(u − t_i)` for every bin `i` to `out[0 ..< bins]` and zeros to the padding.
    @inline(__always)
    func row(_ u: Float, scale: Float, into out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        paddedCentres.withUnsafeBytes { c in
            mask.withUnsafeBytes { m in
                for j in stride(from: 0, to: paddedBins * 4, by: 32) {
                    let d = Lanes(repeating: u) - c.loadUnaligned(fromByteOffset: j, as: Lanes.self)
                    o.storeBytes(of: values(d) * m.loadUnaligned(fromByteOffset: j, as: Lanes.self) * scale, toByteOffset: j, as: Lanes.self)
                }
            }
        }
    }

    /// Writes k(u − t_i) and dk/du to `values[0 ..< paddedBins]` and `slopes[0 ..< paddedBins]` (padding 0).
    @inline(__always)
    func rowWithSlopes(_ u: Float, values out: UnsafeMutablePointer<Float>, slopes: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out), os = UnsafeMutableRawPointer(slopes)
        paddedCentres.withUnsafeBytes { c in
            mask.withUnsafeBytes { m in
                for j in stride(from: 0, to: paddedBins * 4, by: 32) {
                    let (k, dk) = valuesAndSlopes(Lanes(repeating: u) - c.loadUnaligned(fromByteOffset: j, as: Lanes.self))
                    let keep = m.loadUnaligned(fromByteOffset: j, as: Lanes.self)
                    o.storeBytes(of: k * keep, toByteOffset: j, as: Lanes.self)
                    os.storeBytes(of: dk * keep, toByteOffset: j, as: Lanes.self)
                }
            }
        }
    }

    /// `out[q] = scale[q] · k(u[q] − t)` for `q < count` (rounded up to 8; the inputs must hold that many).
    @inline(__always)
    func column(_ u: UnsafePointer<Float>, scale: UnsafePointer<Float>, centre t: Float, count: Int, into out: UnsafeMutablePointer<Float>) {
        let ru = UnsafeRawPointer(u), rs = UnsafeRawPointer(scale), o = UnsafeMutableRawPointer(out)
        for q in stride(from: 0, to: count * 4, by: 32) {
            let d = ru.loadUnaligned(fromByteOffset: q, as: Lanes.self) - Lanes(repeating: t)
            o.storeBytes(of: rs.loadUnaligned(fromByteOffset: q, as: Lanes.self) * values(d), toByteOffset: q, as: Lanes.self)
        }
    }

    /// Σ_i k(u − t_i).
    @inline(__always)
    func rowSum(_ u: Float) -> Float {
        paddedCentres.withUnsafeBytes { c in
            mask.withUnsafeBytes { m in
                var acc = Lanes()
                for j in stride(from: 0, to: paddedBins * 4, by: 32) {
                    acc += values(Lanes(repeating: u) - c.loadUnaligned(fromByteOffset: j, as: Lanes.self))
                        * m.loadUnaligned(fromByteOffset: j, as: Lanes.self)
                }
                return acc.sum()
            }
        }
    }

    /// `out[0 ..< paddedBins] += Σ_k x[k] · m[k, 0 ..< paddedBins]` for `k < count`, with `m` row-major
    /// of row length `paddedBins` (a multiple of 8): four SIMD8 accumulators per pass over `k`, then
    /// one for the remaining columns.
    @inline(__always)
    func accumulateRowTimesMatrix(_ x: UnsafePointer<Float>, count: Int, _ m: UnsafePointer<Float>,
                                  into out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(m), ro = UnsafeMutableRawPointer(out), rowBytes = paddedBins * 4
        @inline(__always) func add(_ a: SIMD8<Float>, _ column: Int) {
            let v = ro.loadUnaligned(fromByteOffset: column * 4, as: SIMD8<Float>.self)
            ro.storeBytes(of: v + a, toByteOffset: column * 4, as: SIMD8<Float>.self)
        }
        var j = 0
        while j + 32 <= paddedBins {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var base = j * 4
            for k in 0..<count {
                let xk = SIMD8<Float>(repeating: x[k])
                a0 += xk * raw.loadUnaligned(fromByteOffset: base, as: SIMD8<Float>.self)
                a1 += xk * raw.loadUnaligned(fromByteOffset: base + 32, as: SIMD8<Float>.self)
                a2 += xk * raw.loadUnaligned(fromByteOffset: base + 64, as: SIMD8<Float>.self)
                a3 += xk * raw.loadUnaligned(fromByteOffset: base + 96, as: SIMD8<Float>.self)
                base += rowBytes
            }
            add(a0, j); add(a1, j + 8); add(a2, j + 16); add(a3, j + 24)
            j += 32
        }
        while j < paddedBins {
            var a0 = SIMD8<Float>()
            var base = j * 4
            for k in 0..<count {
                a0 += SIMD8<Float>(repeating: x[k]) * raw.loadUnaligned(fromByteOffset: base, as: SIMD8<Float>.self)
                base += rowBytes
            }
            add(a0, j)
            j += 8
        }
    }

    /// Σ_i a[i]·b[i] over `paddedBins` (padding is zero).
    @inline(__always)
    func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc = SIMD8<Float>()
        for j in stride(from: 0, to: paddedBins, by: 8) {
            acc += ra.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        }
        return acc.sum()
    }
}

/// Runs `body` with `count` uninitialised floats of scratch memory, freed afterwards.
@inline(__always)
func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
    defer { p.deallocate() }
    return try body(p)
}
