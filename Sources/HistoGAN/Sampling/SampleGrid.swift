import Engine
import Foundation

/// Sample grids: rows = target histograms, columns = latent seeds, with the target's source image (or a
/// histogram picture) in the first column.
public enum SampleGrid {
    /// Generates `seeds.count` images per target with `generator` (no noise, truncation ψ) and writes the grid.
    public static func write(generator: Generator, targets: Tensor, targetImages: [Float]?, seeds: [Int],
                             truncation: Float, to path: String) throws {
        let rows = targets.shape[0]
        let r = generator.config.resolution
        let backend = targets.backend
        var cells: [[Float]] = []
        try Autograd.withoutGrad {
            let z = try latents(seeds: seeds, dim: generator.config.latentDim, on: backend)
            for row in 0..<rows {
                if let targetImages {
                    let plane = 3 * r * r
                    cells.append(targetImages[(row * plane)..<((row + 1) * plane)].map { ($0 + 1) / 2 })
                }
                let h = try targets.sliced(axis: 0, row..<(row + 1)).expanded(to: [seeds.count] + Array(targets.shape.dropFirst()))
                let images = try generator(z: z, histograms: h, truncation: truncation).array()
                for s in 0..<seeds.count {
                    cells.append(images[(s * 3 * r * r)..<((s + 1) * 3 * r * r)].map { ($0 + 1) / 2 })
                }
            }
        }
        let columns = seeds.count + (targetImages == nil ? 0 : 1)
        let images = try cells.map { try Image(width: r, height: r, pixels: $0) }
        try ImageIO.writePNG(Image.grid(images, columns: columns), to: path)
    }

    /// z for each seed: Philox N(0, 1) keyed by the seed, `[seeds.count, dim]` (the same z for a seed in every run).
    public static func latents(seeds: [Int], dim: Int, on backend: any Backend) throws -> Tensor {
        let rows = try seeds.map { try Tensor.random([1, dim], .normal, seed: UInt64($0), offset: 0, on: backend) }
        return try Tensor.concat(rows, axis: 0)
    }
}
