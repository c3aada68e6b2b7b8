import Engine
import Foundation

/// Renders RGB-uv histograms as a picture a person can read: one row per image with its thumbnail and
/// the three u-v histograms (R, G, B) as heat maps, each bin a square block, rows u and columns v from
/// −3 (top, left) to +3, the u = 0 and v = 0 lines marked in grey where the map is faint. Bin values are shown as
/// `sqrt(H / max H)` of that channel (so weak colours stay visible), from white (empty) to the
/// channel's hue (the fullest bin).
public struct HistogramPlot: Sendable {
    /// Side of each panel in pixels (heat maps use the largest multiple of `bins` not above it).
    public var panelSize: Int
    /// Pixels between panels.
    public var gap: Int

    /// A plot with panels of `panelSize` pixels, `gap` pixels apart.
    public init(panelSize: Int = 192, gap: Int = 4) {
        self.panelSize = panelSize
        self.gap = gap
    }

    /// Hue of each channel's heat map at full strength.
    static let hues: [(Float, Float, Float)] = [(0.85, 0.08, 0.08), (0.05, 0.6, 0.1), (0.1, 0.2, 0.9)]

    /// One row per image: `[thumbnail | R | G | B]`. `histograms` is `[N, 3, bins, bins]` flattened
    /// and `images` the N inputs in the same order.
    public func render(images: [Image], histograms: [Float], bins: Int) throws -> Image {
        let perImage = 3 * bins * bins
        guard bins > 0, !images.isEmpty, histograms.count == images.count * perImage else {
            throw ImageIOError.invalidImage("\(histograms.count) histogram values for \(images.count) images of \(bins) bins")
        }
        let scale = max(1, panelSize / bins), side = scale * bins
        var panels: [Image] = []
        for (n, image) in images.enumerated() {
            panels.append(try thumbnail(image, side: side))
            for c in 0..<3 {
                let start = n * perImage + c * bins * bins
                panels.append(try heatMap(Array(histograms[start..<(start + bins * bins)]), bins: bins, scale: scale, hue: Self.hues[c]))
            }
        }
        return try Image.grid(panels, columns: 4, gap: gap, background: 1)
    }

    /// `image` scaled (nearest neighbour, aspect kept) into a white `side × side` square.
    func thumbnail(_ image: Image, side: Int) throws -> Image {
        let factor = Double(side) / Double(max(image.width, image.height))
        let w = max(1, Int((Double(image.width) * factor).rounded())), h = max(1, Int((Double(image.height) * factor).rounded()))
        let small = try image.resizedNearest(width: min(w, side), height: min(h, side))
        var out = try Image(width: side, height: side, fill: (1, 1, 1))
        let x0 = (side - small.width) / 2, y0 = (side - small.height) / 2
        for c in 0..<3 { for y in 0..<small.height { for x in 0..<small.width { out[c, y0 + y, x0 + x] = small[c, y, x] } } }
        return out
    }

    /// A `bins·scale` square heat map of one channel's `[bins, bins]` histogram.
    func heatMap(_ h: [Float], bins: Int, scale: Int, hue: (Float, Float, Float)) throws -> Image {
        let side = bins * scale, peak = max(h.max() ?? 0, Float.leastNormalMagnitude)
        var out = try Image(width: side, height: side, fill: (1, 1, 1))
        for i in 0..<bins {
            for j in 0..<bins {
                let t = (max(h[i * bins + j], 0) / peak).squareRoot()
                let colour = [1 - t * (1 - hue.0), 1 - t * (1 - hue.1), 1 - t * (1 - hue.2)]
                for y in (i * scale)..<((i + 1) * scale) {
                    for x in (j * scale)..<((j + 1) * scale) { for c in 0..<3 { out[c, y, x] = colour[c] } }
                }
            }
        }
        // One-pixel grey lines at u = 0 and v = 0 where the map is faint.
        let axis = min(side - 1, bins * scale / 2)
        for k in 0..<side {
            for (y, x) in [(axis, k), (k, axis)] where out[0, y, x] + out[1, y, x] + out[2, y, x] > 2.5 {
                for c in 0..<3 { out[c, y, x] *= 0.8 }
            }
        }
        return out
    }

    /// The three channels' u-v heat maps of one `[3, bins, bins]` histogram stacked into one square picture of
    /// `side` pixels: each channel darkens white toward its hue by its strength (a thumbnail for targets
    /// given as histograms).
    public func composite(_ histogram: [Float], bins: Int, side: Int) throws -> Image {
        guard bins > 0, histogram.count == 3 * bins * bins, side > 0 else {
            throw ImageIOError.invalidImage("\(histogram.count) histogram values for \(bins) bins")
        }
        var out = try Image(width: side, height: side, fill: (1, 1, 1))
        for c in 0..<3 {
            let h = histogram[(c * bins * bins)..<((c + 1) * bins * bins)]
            let peak = max(h.max() ?? 0, Float.leastNormalMagnitude)
            let hue = [Self.hues[c].0, Self.hues[c].1, Self.hues[c].2]
            for y in 0..<side {
                for x in 0..<side {
                    let t = (max(h[h.startIndex + (y * bins / side) * bins + x * bins / side], 0) / peak).squareRoot()
                    for k in 0..<3 { out[k, y, x] *= 1 - t * (1 - hue[k]) }
                }
            }
        }
        return out
    }
}
