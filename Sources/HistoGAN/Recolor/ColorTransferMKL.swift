import Engine

/// The linear Monge–Kantorovich colour transfer (Pitié & Kokaram 2007; official HistoGAN
/// `utils/color_transfer_MKL.py`): maps input colours x to `T(x − μx) + μt` with
/// `T = Σx^{-1/2} (Σx^{1/2} Σt Σx^{1/2})^{1/2} Σx^{-1/2}`, the unique symmetric positive map that takes a
/// Gaussian with the input's mean and covariance to one with the target's.
///
/// Steps (as the official code, in Float64):
/// 1. μx, Σx from the input's pixels and μt, Σt from the target's (unbiased covariance, `np.cov`);
/// 2. `Σx = Ua·diag(λa)·Uaᵀ`; `Da = diag(√(max(λa, 0) + ε))`, ε = 2.2204e-16;
/// 3. `C = Da·Uaᵀ·Σt·Ua·Da = Uc·diag(λc)·Ucᵀ`; `Dc = diag(√(max(λc, 0) + ε))`;
/// 4. `T = Ua·Da⁻¹·Uc·Dc·Ucᵀ·Da⁻¹·Uaᵀ`; each pixel `T(x − μx) + μt`, clamped to [0, 1].
///
/// Deviations: the eigen-decompositions are a symmetric Jacobi solver (`SymmetricEigen3`) instead of
/// `np.linalg.eig`; ε is added to the eigenvalues only (the official `Da2 + EPS` also adds it to the zero
/// off-diagonal entries, a change below 1.5e-8); a greyscale input is refused (its covariance has rank 1, so
/// `Da⁻¹` would scale float noise by ~10⁸ instead of giving a meaningful map). A greyscale target is fine
/// (the output becomes grey-toned).
///
/// In ReHistoGAN's pipeline (official `rehistoGAN.py`, `post_recoloring`) the transfer is applied to the
/// full-size *original* image toward the network's low-resolution recoloured output, and its result
/// replaces the upsampled one: `transfer(original, toward: networkOutput)`.
public enum ColorTransferMKL {
    /// The official code's ε (MATLAB's `eps`), added under every square root.
    public static let epsilon = 2.2204e-16
    /// The smallest width and height accepted for the input and the target.
    public static let minimumSide = 4

    /// The colour mean and unbiased covariance of an image's pixels, in Float64.
    public struct Statistics: Sendable {
        /// Mean R, G, B.
        public let mean: [Double]
        /// `Σ = Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ / (N − 1)`.
        public let covariance: Matrix3

        /// The statistics of `image`'s `width · height` pixels (two passes: mean, then centred products).
        public init(_ image: Image) {
            let n = image.width * image.height
            var mean = [0.0, 0.0, 0.0], cov = [Double](repeating: 0, count: 9)
            image.pixels.withUnsafeBufferPointer { p in
                for c in 0..<3 {
                    var s = 0.0
                    for i in 0..<n { s += Double(p[c * n + i]) }
                    mean[c] = s / Double(n)
                }
                var s00 = 0.0, s01 = 0.0, s02 = 0.0, s11 = 0.0, s12 = 0.0, s22 = 0.0
                for i in 0..<n {
                    let r = Double(p[i]) - mean[0], g = Double(p[n + i]) - mean[1], b = Double(p[2 * n + i]) - mean[2]
                    s00 += r * r; s01 += r * g; s02 += r * b; s11 += g * g; s12 += g * b; s22 += b * b
                }
                let d = Double(max(n - 1, 1))
                cov = [s00 / d, s01 / d, s02 / d, s01 / d, s11 / d, s12 / d, s02 / d, s12 / d, s22 / d]
            }
            self.mean = mean
            covariance = Matrix3(cov)
        }
    }

    /// The MKL map `T` taking covariance `source` to covariance `target` (steps 2–4 above).
    public static func mapping(from source: Matrix3, to target: Matrix3) -> Matrix3 {
        let a = SymmetricEigen3(source)
        let da = a.values.map { (max($0, 0) + epsilon).squareRoot() }
        let daM = Matrix3(diagonal: (da[0], da[1], da[2]))
        let daInv = Matrix3(diagonal: (1 / da[0], 1 / da[1], 1 / da[2]))
        let ua = a.vectors
        let c = daM * ua.transposed * target * ua * daM
        // C is symmetric in exact arithmetic; average away the rounding before the Jacobi solver.
        let cSym = Matrix3(zip(c.entries, c.transposed.entries).map { ($0 + $1) / 2 })
        let dcRoot = SymmetricEigen3(cSym).map { (max($0, 0) + epsilon).squareRoot() }
        return ua * daInv * dcRoot * daInv * ua.transposed
    }

    /// `input` with its colours mapped so that their mean and covariance become `target`'s; the output has
    /// `input`'s size (the two images may differ in size). `clamp` (the official behaviour) limits the
    /// result to [0, 1]. `inputName` and `targetName` (paths, usually) appear in errors.
    ///
    /// - Throws: `RecolorError.imageTooSmall` below 4×4, `.greyscale` for a greyscale input, `.nonFinite`.
    public static func transfer(_ input: Image, toward target: Image, clamp: Bool = true,
                                inputName: String = "input", targetName: String = "target") throws -> Image {
        try RecolorCheck.size(input, atLeast: minimumSide, name: inputName)
        try RecolorCheck.size(target, atLeast: minimumSide, name: targetName)
        try RecolorCheck.finite(input, name: inputName)
        try RecolorCheck.finite(target, name: targetName)
        if RecolorCheck.isGreyscale(input) {
            throw RecolorError.greyscale(image: inputName, reason: "the MKL colour transfer needs a colour input (its colour covariance is singular)")
        }
        let source = Statistics(input), goal = Statistics(target)
        return apply(mapping(from: source.covariance, to: goal.covariance), to: input,
                     sourceMean: source.mean, targetMean: goal.mean, clamp: clamp)
    }

    /// Every pixel x of `image` mapped to `T(x − sourceMean) + targetMean`, optionally clamped to [0, 1].
    public static func apply(_ t: Matrix3, to image: Image, sourceMean: [Double], targetMean: [Double], clamp: Bool) -> Image {
        let n = image.width * image.height
        var out = image
        let e = t.entries
        image.pixels.withUnsafeBufferPointer { p in
            out.pixels.withUnsafeMutableBufferPointer { o in
                for i in 0..<n {
                    let r = Double(p[i]) - sourceMean[0], g = Double(p[n + i]) - sourceMean[1], b = Double(p[2 * n + i]) - sourceMean[2]
                    let y = (e[0] * r + e[1] * g + e[2] * b + targetMean[0],
                             e[3] * r + e[4] * g + e[5] * b + targetMean[1],
                             e[6] * r + e[7] * g + e[8] * b + targetMean[2])
                    o[i] = Float(clamp ? min(max(y.0, 0), 1) : y.0)
                    o[n + i] = Float(clamp ? min(max(y.1, 0), 1) : y.1)
                    o[2 * n + i] = Float(clamp ? min(max(y.2, 0), 1) : y.2)
                }
            }
        }
        return out
    }
}
