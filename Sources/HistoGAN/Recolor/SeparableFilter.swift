/// A separable linear map of a planar `[3, height, width]` image: each output sample is a weighted sum of
/// input samples along one axis, rows first, then columns. The resize filters and the pyramid's
/// blur-and-decimate / insert-and-blur steps are all tap lists for it.
enum SeparableFilter {
    /// For each output index of one axis, the input indices and weights it sums.
    typealias Taps = [[(Int, Double)]]

    /// `pixels` (`[3, height, width]`) mapped to `[3, down.count, across.count]`: `across[x]` combines input
    /// columns for output column x, then `down[y]` combines rows for output row y (accumulated in Double).
    static func apply(_ pixels: [Float], width: Int, height: Int, across: Taps, down: Taps) -> [Float] {
        let outWidth = across.count, outHeight = down.count
        // Rows: [3, height, width] → [3, height, outWidth].
        var mid = [Float](repeating: 0, count: 3 * height * outWidth)
        pixels.withUnsafeBufferPointer { src in
            mid.withUnsafeMutableBufferPointer { dst in
                let (s, d) = (UncheckedBox(src), UncheckedBox(dst))
                RecolorParallel.chunks(3 * height, grain: 16) { rows in
                    for row in rows {
                        let inRow = row * width, outRow = row * outWidth
                        for x in 0..<outWidth {
                            var acc: Double = 0
                            for (i, w) in across[x] { acc += w * Double(s.value[inRow + i]) }
                            d.value[outRow + x] = Float(acc)
                        }
                    }
                }
            }
        }
        // Columns: [3, height, outWidth] → [3, outHeight, outWidth].
        var out = [Float](repeating: 0, count: 3 * outHeight * outWidth)
        mid.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let (s, d) = (UncheckedBox(src), UncheckedBox(dst))
                RecolorParallel.chunks(3 * outHeight, grain: 16) { rows in
                    var acc = [Double](repeating: 0, count: outWidth)
                    for row in rows {
                        let c = row / outHeight, y = row % outHeight
                        for x in 0..<outWidth { acc[x] = 0 }
                        for (i, w) in down[y] {
                            let inRow = (c * height + i) * outWidth
                            for x in 0..<outWidth { acc[x] += w * Double(s.value[inRow + x]) }
                        }
                        let outRow = row * outWidth
                        for x in 0..<outWidth { d.value[outRow + x] = Float(acc[x]) }
                    }
                }
            }
        }
        return out
    }
}
