import Engine

/// Resizing for the recolour pipeline, separable (rows, then columns), each axis on its own:
/// - shrinking an axis (`out < in`): area (box-filter) averaging, OpenCV `INTER_AREA` semantics: output
///   sample j averages the input over `[j·s, (j+1)·s)` with `s = in / out`, partial pixels weighted by overlap;
/// - growing or keeping an axis: bilinear with half-pixel centres (`align_corners=False`):
///   source position `(j + ½)·in/out − ½`, clamped to `[0, in − 1]`. Equal sizes give the image unchanged.
public enum ImageResize {
    /// `image` resized to `width × height` (see the type's notes for the filters).
    ///
    /// - Throws: `RecolorError.invalidArgument` for a non-positive size.
    public static func resized(_ image: Image, width: Int, height: Int) throws -> Image {
        guard width > 0, height > 0 else {
            throw RecolorError.invalidArgument(name: "resize", value: "\(width)x\(height)", expected: "width and height must be positive")
        }
        if width == image.width, height == image.height { return image }
        let out = SeparableFilter.apply(image.pixels, width: image.width, height: image.height,
                                        across: taps(from: image.width, to: width), down: taps(from: image.height, to: height))
        return try Image(width: width, height: height, pixels: out)
    }

    /// For each output index of an axis of `input → output` samples, the input indices and weights
    /// (summing to 1) it combines.
    static func taps(from input: Int, to output: Int) -> [[(Int, Double)]] {
        let scale = Double(input) / Double(output)
        if output < input {
            return (0..<output).map { j in
                let lo = Double(j) * scale, hi = Double(j + 1) * scale
                var taps: [(Int, Double)] = []
                var i = Int(lo.rounded(.down))
                while Double(i) < hi, i < input {
                    let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                    if overlap > 1e-12 { taps.append((i, overlap / scale)) }
                    i += 1
                }
                return taps
            }
        }
        return (0..<output).map { j in
            let x = min(max((Double(j) + 0.5) * scale - 0.5, 0), Double(input - 1))
            let i0 = Int(x.rounded(.down)), f = x - Double(i0)
            return f > 0 && i0 + 1 < input ? [(i0, 1 - f), (i0 + 1, f)] : [(i0, 1)]
        }
    }
}
