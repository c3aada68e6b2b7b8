import Foundation

/// A colour table of at most 256 8-bit RGB colours and the mapping of images onto it.
///
/// Built by median cut over the pixels of one or more images:
/// 1. start with one box holding every sampled pixel;
/// 2. pick the box whose worst channel has the largest squared error (`count · variance`);
/// 3. split it at the median of that channel (between two distinct values);
/// 4. repeat until there are `maxColors` boxes or every box holds a single colour;
/// 5. each box's colour is the rounded mean of its pixels.
///
/// An input with at most `maxColors` distinct colours therefore gets exactly those colours (lossless).
/// Images are mapped to the nearest entry (Euclidean RGB), optionally after ordered (Bayer 8x8) dithering
/// whose amplitude is the typical spacing of the palette where the pixels are (`measuredStep`): enough to
/// turn the bands of a smooth ramp into a fine, temporally stable pattern (see `GIFWriter`).
public struct GIFPalette: Sendable, Equatable {
    /// Interleaved RGB, `[count, 3]`.
    public private(set) var rgb: [UInt8]
    /// Ordered-dither step in 8-bit units: an offset in `(-step/2, step/2)` is added before the lookup.
    public var ditherStep: Float

    /// Number of colours.
    public var count: Int { rgb.count / 3 }

    /// A palette of explicit colours (interleaved RGB, 1 to 256 of them) and an optional dither step.
    public init(rgb: [UInt8], ditherStep: Float = 0) throws {
        guard !rgb.isEmpty, rgb.count % 3 == 0, rgb.count <= 3 * 256 else {
            throw ImageIOError.invalidImage("a GIF palette holds 1 to 256 RGB colours, got \(rgb.count) values")
        }
        self.rgb = rgb
        self.ditherStep = ditherStep
    }

    // MARK: - Median cut

    /// Median-cut palette of at most `maxColors` (1…256) colours over `images` (at most about 2²⁰ pixels are
    /// sampled, evenly). With `dither`, the dither step is set from the palette's spacing (`measuredStep`).
    public static func medianCut(_ images: [Image], maxColors: Int = 256, dither: Bool = true) throws -> GIFPalette {
        guard (1...256).contains(maxColors) else {
            throw ImageIOError.invalidImage("a GIF palette holds 1 to 256 colours, asked for \(maxColors)")
        }
        let total = images.reduce(0) { $0 + $1.width * $1.height }
        guard total > 0 else { throw ImageIOError.invalidImage("no pixels to build a palette from") }
        let stride = max(1, total / (1 << 20))
        var pixels: [SIMD3<Int32>] = []
        pixels.reserveCapacity(total / stride + 1)
        var k = 0
        for image in images {
            let bytes = image.rgb8()
            for i in 0..<(image.width * image.height) {
                if k % stride == 0 { pixels.append(SIMD3(Int32(bytes[3 * i]), Int32(bytes[3 * i + 1]), Int32(bytes[3 * i + 2]))) }
                k += 1
            }
        }
        var boxes = [Box(pixels, 0..<pixels.count)]
        while boxes.count < maxColors {
            guard let worst = boxes.indices.max(by: { boxes[$0].error < boxes[$1].error }), boxes[worst].error > 0 else { break }
            let (low, high) = boxes[worst].split(&pixels)
            boxes[worst] = low
            boxes.append(high)
        }
        var palette = try GIFPalette(rgb: boxes.flatMap { box -> [UInt8] in
            let n = Int64(box.range.count)
            return (0..<3).map { c in UInt8(clamping: (box.sum[c] + n / 2) / n) }
        })
        if dither { palette.ditherStep = palette.measuredStep(pixels) }
        return palette
    }

    /// A run `range` of `pixels` with its per-channel sums, for median cut.
    struct Box {
        var range: Range<Int>
        var sum: SIMD3<Int64> = .zero
        var sumSquares: SIMD3<Int64> = .zero

        init(_ pixels: [SIMD3<Int32>], _ range: Range<Int>) {
            self.range = range
            for p in pixels[range] {
                let q = SIMD3<Int64>(truncatingIfNeeded: p)
                sum &+= q
                sumSquares &+= q &* q
            }
        }

        /// `count · variance` of each channel, times `count` (kept integral): `count·Σx² − (Σx)²`.
        var channelErrors: SIMD3<Int64> { Int64(range.count) &* sumSquares &- sum &* sum }

        /// The largest channel error: the box to split next has the largest.
        var error: Int64 { channelErrors.max() }

        /// Sorts the box's pixels along its worst channel and splits them at the median, between two distinct values.
        func split(_ pixels: inout [SIMD3<Int32>]) -> (Box, Box) {
            let e = channelErrors
            let c = e[0] >= e[1] && e[0] >= e[2] ? 0 : (e[1] >= e[2] ? 1 : 2)
            pixels[range].sort { $0[c] < $1[c] }
            var m = range.lowerBound + range.count / 2
            let pivot = pixels[m][c]
            // Move the cut to the start of the pivot's run; when that empties the low half, to its end.
            while m > range.lowerBound && pixels[m - 1][c] == pivot { m -= 1 }
            if m == range.lowerBound { while m < range.upperBound && pixels[m][c] == pivot { m += 1 } }
            return (Box(pixels, range.lowerBound..<m), Box(pixels, m..<range.upperBound))
        }
    }

    // MARK: - Mapping

    /// Index of the entry nearest to (r, g, b) in squared RGB distance (the lowest index on a tie).
    @inlinable
    public func nearest(_ r: Int32, _ g: Int32, _ b: Int32) -> UInt8 {
        var best = 0, bestDistance = Int32.max
        rgb.withUnsafeBufferPointer { p in
            for i in 0..<(p.count / 3) {
                let dr = Int32(p[3 * i]) - r, dg = Int32(p[3 * i + 1]) - g, db = Int32(p[3 * i + 2]) - b
                let d = dr * dr + dg * dg + db * db
                if d < bestDistance { bestDistance = d; best = i }
            }
        }
        return UInt8(best)
    }

    /// The Bayer 8x8 threshold matrix, values 0…63 (row-major).
    public static let bayer8: [Int32] = {
        var m = [Int32](repeating: 0, count: 64)
        for y in 0..<8 {
            for x in 0..<8 {
                // Bit-reversed interleave of (x ^ y, y): the recursive Bayer construction.
                let v = x ^ y
                var t = 0
                for bit in 0..<3 { t |= ((v >> bit) & 1) << (5 - 2 * bit) | ((y >> bit) & 1) << (4 - 2 * bit) }
                m[y * 8 + x] = Int32(t)
            }
        }
        return m
    }()

    /// Palette indices of `image` (`[height, width]`, row-major): each pixel's 8-bit colour plus the ordered
    /// dither offset `round(((bayer8[y%8][x%8] + 0.5) / 64 − 0.5) · ditherStep)` on every channel, clamped to 0…255,
    /// then the nearest entry.
    public func indices(for image: Image) -> [UInt8] {
        let bytes = image.rgb8(), w = image.width
        var out = [UInt8](repeating: 0, count: image.width * image.height)
        for i in 0..<out.count {
            var r = Int32(bytes[3 * i]), g = Int32(bytes[3 * i + 1]), b = Int32(bytes[3 * i + 2])
            if ditherStep > 0 {
                let t = Self.bayer8[(i / w) % 8 * 8 + (i % w) % 8]
                let offset = Int32((((Float(t) + 0.5) / 64 - 0.5) * ditherStep).rounded())
                r = min(255, max(0, r + offset)); g = min(255, max(0, g + offset)); b = min(255, max(0, b + offset))
            }
            out[i] = nearest(r, g, b)
        }
        return out
    }

    /// The dither step for this palette on `pixels`: the spacing between neighbouring entries where the pixels
    /// are. Each entry's spacing is the distance to its nearest other entry; the step is the median of those
    /// spacings weighted by how many of (at most 16384 evenly spaced) `pixels` map to each entry. An offset of
    /// ±step/2 then moves a pixel between an entry and its neighbours, so a smooth ramp becomes a fine mix of
    /// the two nearest colours instead of bands, while dense regions of the palette get only a light pattern.
    /// Zero when every sampled pixel has an exact entry (nothing to dither).
    func measuredStep(_ pixels: [SIMD3<Int32>]) -> Float {
        guard count > 1 else { return 0 }
        var spacing = [Float](repeating: .infinity, count: count)
        for i in 0..<count {
            for j in 0..<count where j != i {
                var d: Int32 = 0
                for c in 0..<3 { let e = Int32(rgb[3 * i + c]) - Int32(rgb[3 * j + c]); d += e * e }
                spacing[i] = min(spacing[i], Float(d).squareRoot())
            }
        }
        var use = [Int](repeating: 0, count: count), exact = true
        for i in Swift.stride(from: 0, to: pixels.count, by: max(1, pixels.count / 16384)) {
            let j = Int(nearest(pixels[i].x, pixels[i].y, pixels[i].z))
            use[j] += 1
            exact = exact && SIMD3(Int32(rgb[3 * j]), Int32(rgb[3 * j + 1]), Int32(rgb[3 * j + 2])) == pixels[i]
        }
        if exact { return 0 }
        let order = (0..<count).sorted { spacing[$0] < spacing[$1] }
        let half = use.reduce(0, +) / 2
        var seen = 0
        for i in order {
            seen += use[i]
            if seen > half { return spacing[i] }
        }
        return spacing[order.last!]
    }
}
