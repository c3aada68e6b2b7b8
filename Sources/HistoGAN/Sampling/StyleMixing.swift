import Engine
import Foundation

/// The images of a style-mixing grid (NVlabs `style_mixing.py` layout, with HistoGAN's histogram layers).
public struct StyleMixingGrid: Sendable {
    /// One image per row seed, unmixed (`[rows]`).
    public var rowImages: [Image]
    /// One image per column seed, unmixed (`[columns]`).
    public var columnImages: [Image]
    /// `cells[i][j]`: row seed i's w for layers `< cutoff`, column seed j's w for layers `cutoff ..< firstHistogramW`,
    /// the target's w_hist for the rest.
    public var cells: [[Image]]

    /// The whole grid as one picture: `corner` (the target's thumbnail) top left, the column images along the
    /// top, the row images down the left, the mixed cells inside.
    public func composite(corner: Image) throws -> Image {
        var all = [corner] + columnImages
        for (row, cells) in zip(rowImages, cells) { all += [row] + cells }
        return try Image.grid(all, columns: columnImages.count + 1)
    }
}

extension Sampler {
    /// Cutoffs `mix` accepts: 0 (every w layer from the column seed) … `firstHistogramW` (every one from the row seed).
    public var mixingCutoffs: ClosedRange<Int> { 0...generator.synthesis.firstHistogramW }

    /// The default cutoff: the coarser half of the w-styled layers, `firstHistogramW / 2` (at R = 256, layers 0…6:
    /// the 4x4 and 8x8 blocks and the first 16x16 conv).
    public var defaultMixingCutoff: Int { generator.synthesis.firstHistogramW / 2 }

    /// What each layer range takes at `cutoff`, for printing: e.g. "layers 0-1 row seed, 2-4 column seed, 5-10 histogram".
    public func mixingDescription(cutoff: Int) -> String {
        let first = generator.synthesis.firstHistogramW, n = generator.synthesis.numWs
        func span(_ r: Range<Int>) -> String { r.count == 1 ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound - 1)" }
        var parts: [String] = []
        if cutoff > 0 { parts.append("\(span(0..<cutoff)) from the row seed") }
        if cutoff < first { parts.append("\(span(cutoff..<first)) from the column seed") }
        parts.append("\(span(first..<n)) from the target histogram")
        return "layers " + parts.joined(separator: ", ")
    }

    /// Style mixing of every (row seed, column seed) pair under one target `histogram` (`[3, bins, bins]`).
    ///
    /// 1. z per seed (Philox, as `generate`), w = mapping(z) truncated toward w_avg by ψ, w_hist = encoder(histogram);
    /// 2. the headers are the unmixed images of the row and the column seeds;
    /// 3. cell (i, j) feeds layers `< cutoff` row seed i's w, layers `cutoff ..< firstHistogramW` column seed j's w,
    ///    and the last two blocks w_hist. No per-pixel noise, so every image is deterministic.
    ///
    /// Throws `HistoGANError.invalidConfig` naming `--cutoff` when `cutoff` is outside `mixingCutoffs`.
    public func styleMixing(rowSeeds: [Int], columnSeeds: [Int], histogram: [Float], cutoff: Int,
                            truncation: Float) throws -> StyleMixingGrid {
        guard mixingCutoffs.contains(cutoff) else {
            throw HistoGANError.invalidConfig("--cutoff \(cutoff): must be in \(mixingCutoffs.lowerBound)...\(mixingCutoffs.upperBound) "
                + "(this generator has \(generator.synthesis.numWs) style layers; from layer \(generator.synthesis.firstHistogramW) on they take the histogram)")
        }
        guard !rowSeeds.isEmpty, !columnSeeds.isEmpty else {
            throw HistoGANError.invalidConfig("style mixing needs at least one row seed and one column seed")
        }
        let b = generator.config.histogramBins, dim = generator.config.latentDim
        guard histogram.count == 3 * b * b else {
            throw HistoGANError.invalidConfig("target histogram has \(histogram.count) values, the generator reads [3, \(b), \(b)]")
        }
        return try Autograd.withoutGrad {
            let rows = try SampleGrid.latents(seeds: rowSeeds, dim: dim, on: backend)
            let columns = try SampleGrid.latents(seeds: columnSeeds, dim: dim, on: backend)
            let hRows = try repeated(histogram, rowSeeds.count), hColumns = try repeated(histogram, columnSeeds.count)
            let rowImages = try render(generator.ws(z: rows, histograms: hRows, truncation: truncation))
            let columnImages = try render(generator.ws(z: columns, histograms: hColumns, truncation: truncation))
            let cells = try (0..<rowSeeds.count).map { i in
                let z = try rows.sliced(axis: 0, i..<(i + 1)).expanded(to: [columnSeeds.count, dim])
                return try render(generator.ws(z: z, histograms: hColumns, truncation: truncation, mixing: (columns, cutoff)))
            }
            return StyleMixingGrid(rowImages: rowImages, columnImages: columnImages, cells: cells)
        }
    }

    /// Writes the style-mixing grid for `target` to the PNG `path` (the target's image, or a picture of its
    /// histogram, in the top-left corner) and returns the grid's images.
    @discardableResult
    public func writeStyleMixingGrid(target: ColorTarget, rowSeeds: [Int], columnSeeds: [Int], cutoff: Int,
                                     truncation: Float, to path: String) throws -> StyleMixingGrid {
        let grid = try styleMixing(rowSeeds: rowSeeds, columnSeeds: columnSeeds, histogram: target.histogram,
                                   cutoff: cutoff, truncation: truncation)
        let r = generator.config.resolution
        let corner = try target.image.map { try $0.resizedNearest(width: r, height: r) }
            ?? HistogramPlot().composite(target.histogram, bins: generator.config.histogramBins, side: r)
        try ImageIO.writePNG(grid.composite(corner: corner), to: path)
        return grid
    }

    // MARK: - Helpers

    /// `histogram` repeated `count` times: `[count, 3, bins, bins]`.
    private func repeated(_ histogram: [Float], _ count: Int) throws -> Tensor {
        let b = generator.config.histogramBins
        return try Tensor(histogram, shape: [1, 3, b, b], on: backend).expanded(to: [count, 3, b, b])
    }

    /// Synthesis without noise → images in [0, 1].
    private func render(_ ws: [Tensor]) throws -> [Image] {
        try Sampler.images(generator.synthesis(ws, noise: nil), resolution: generator.config.resolution)
    }
}
