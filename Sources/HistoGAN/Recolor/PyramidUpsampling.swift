import Engine

/// Laplacian-pyramid swapping (official HistoGAN `utils/pyramid_upsampling.py`): the output at
/// `original`'s size keeps `original`'s high frequencies and takes the low frequencies (colours) of
/// `recoloured` (an image at the network's resolution, typically a resized copy of `original` recoloured).
///
/// Steps, with L = `levels` (official default 5, one swapped level):
/// 1. `R` = `recoloured` clamped to [0, 1] and resized to `original`'s size (`ImageResize`);
/// 2. Gaussian pyramids `G₀ = original, Gₖ₊₁ = down(Gₖ)` and `R₀ = R, Rₖ₊₁ = down(Rₖ)` up to k = L − 1, where
///    `down` is OpenCV `pyrDown`: blur by `[1 4 6 4 1]/16` in each axis (reflect-101 borders), keep even
///    samples, size `⌈n/2⌉`;
/// 3. the Laplacian pyramid of the original, `Lₖ = Gₖ − up(Gₖ₊₁)`, with its top `G_{L−1}` replaced by
///    `R_{L−1}`, is collapsed: `out = up(… up(R_{L−1}) + L_{L−2} …) + L₀`, where `up` is OpenCV `pyrUp` to
///    the finer level's exact size: zero insertion, then `[1 4 6 4 1]/8` per axis (at the borders we reflect
///    the zero-inserted signal, reflect-101, which keeps constants exact; OpenCV's border rows differ slightly);
/// 4. the result is clamped to [0, 1].
/// By linearity `out = original + upᴸ⁻¹(R_{L−1} − G_{L−1})`, which is how it is computed; so a constant
/// shift in `recoloured` shifts the output by the same constant, and `levels = 1` returns `R`.
///
/// Deviations from the official code: odd sizes are handled exactly by `pyrUp` to the finer level's size
/// (the official code first resizes the original to a multiple of 2^L with bicubic `imresize`, and returns
/// the output at that padded size); `recoloured` is resized with `ImageResize` (bilinear up / area down)
/// instead of MATLAB bicubic (only its low band, below 1/2^(L−1) of the original's resolution, is used);
/// the output is clamped (the official code leaves clamping to the image writer). The official
/// `swapping_levels > 1` and `blending` options (both off by default) are not offered.
public enum PyramidUpsampling {
    /// The official pyramid depth (`pyramid_levels=5`).
    public static let defaultLevels = 5
    /// The most levels accepted.
    public static let maxLevels = 16

    /// `original` with the low frequencies of `recoloured` (see the type's steps); `levels` defaults to
    /// `defaultLevels`. `recoloured` may have any size; the output has `original`'s.
    ///
    /// - Throws: `RecolorError.invalidArgument` for levels outside 1...16, `.nonFinite` for NaN input.
    public static func upsample(_ recoloured: Image, original: Image, levels: Int? = nil) throws -> Image {
        let levels = levels ?? defaultLevels
        guard (1...maxLevels).contains(levels) else {
            throw RecolorError.invalidArgument(name: "pyramid levels", value: "\(levels)", expected: "must be between 1 and \(maxLevels)")
        }
        try RecolorCheck.finite(recoloured, name: "recoloured image")
        try RecolorCheck.finite(original, name: "original image")
        var clamped = recoloured
        for i in clamped.pixels.indices { clamped.pixels[i] = min(max(clamped.pixels[i], 0), 1) }
        let r = try ImageResize.resized(clamped, width: original.width, height: original.height)

        // Sizes of the levels, finest first.
        var sizes = [(original.width, original.height)]
        for _ in 1..<levels { let (w, h) = sizes[sizes.count - 1]; sizes.append(((w + 1) / 2, (h + 1) / 2)) }
        var topOriginal = original.pixels, topRecoloured = r.pixels
        for k in 1..<levels {
            topOriginal = down(topOriginal, from: sizes[k - 1])
            topRecoloured = down(topRecoloured, from: sizes[k - 1])
        }
        // The difference of the tops, carried up to the finest level.
        var delta = zip(topRecoloured, topOriginal).map { $0 - $1 }
        for k in stride(from: levels - 1, to: 0, by: -1) { delta = up(delta, from: sizes[k], to: sizes[k - 1]) }
        var out = original
        for i in out.pixels.indices { out.pixels[i] = min(max(out.pixels[i] + delta[i], 0), 1) }
        return out
    }

    /// OpenCV `pyrDown` of planar `[3, h, w]` pixels: blur `[1 4 6 4 1]/16` (reflect-101), even samples.
    static func down(_ pixels: [Float], from size: (Int, Int)) -> [Float] {
        SeparableFilter.apply(pixels, width: size.0, height: size.1,
                              across: downTaps(size.0), down: downTaps(size.1))
    }

    /// OpenCV `pyrUp` of planar `[3, h, w]` pixels to `size` (each side `2n` or `2n − 1`): zeros inserted at
    /// odd positions, blur `[1 4 6 4 1]/8` (reflect-101 on the zero-inserted signal).
    static func up(_ pixels: [Float], from small: (Int, Int), to size: (Int, Int)) -> [Float] {
        SeparableFilter.apply(pixels, width: small.0, height: small.1,
                              across: upTaps(size.0), down: upTaps(size.1))
    }

    static let kernel: [Double] = [1, 4, 6, 4, 1]

    /// Taps of `pyrDown` along an axis of `n` samples: output j = Σₖ kernel[k]/16 · x[reflect(2j + k − 2)].
    static func downTaps(_ n: Int) -> SeparableFilter.Taps {
        (0..<(n + 1) / 2).map { j in (0..<5).map { k in (reflect101(2 * j + k - 2, n), kernel[k] / 16) } }
    }

    /// Taps of `pyrUp` to an axis of `n` samples from `⌈n/2⌉`: output j = Σₖ kernel[k]/8 · u[reflect(j + k − 2)],
    /// u[m] = x[m/2] for even m, 0 for odd m.
    /// Reflect-101 keeps the parity of an index for n ≥ 2, so every output's weights sum to 1; a single
    /// sample (n = 1) is passed through.
    static func upTaps(_ n: Int) -> SeparableFilter.Taps {
        if n == 1 { return [[(0, 1)]] }
        return (0..<n).map { j in
            (0..<5).compactMap { k -> (Int, Double)? in
                let m = reflect101(j + k - 2, n)
                return m % 2 == 0 ? (m / 2, kernel[k] / 8) : nil
            }
        }
    }

    /// Index `i` folded into `0..<n` by reflection without repeating the edge (OpenCV `BORDER_REFLECT_101`:
    /// `-1 → 1`, `n → n − 2`).
    static func reflect101(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * n - 2 - i }
        return i
    }
}
