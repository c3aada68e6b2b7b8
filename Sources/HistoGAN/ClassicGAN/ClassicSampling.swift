import Engine
import Foundation

/// Sampling from a classic-GAN generator: images for seeds and requested conditions, and grids.
public enum ClassicSampling {
    /// Images `[seeds.count, C, R, R]` in [−1, 1] for `seeds` (z of seed s: Philox N(0, 1) keyed by s, the same
    /// in every run) and `conditions` `[seeds.count, K]` (nil for unconditional models), with batch norm in
    /// inference mode (running statistics).
    public static func generate(_ generator: ClassicGenerator, seeds: [Int], conditions: [Float]?, on backend: any Backend,
                                chunk: Int = 256) throws -> [Float] {
        let config = generator.config
        if config.model.isConditional && conditions == nil {
            throw HistoGANError.invalidConfig("\(config.model.rawValue) needs a requested class or tags")
        }
        var out: [Float] = []
        try Autograd.withoutGrad {
            for lo in stride(from: 0, to: seeds.count, by: chunk) {
                let part = Array(seeds[lo..<min(seeds.count, lo + chunk)])
                let z = try SampleGrid.latents(seeds: part, dim: config.latentDim, on: backend)
                let c = try conditions.map { values -> Tensor in
                    let k = config.labelCount
                    return try Tensor(Array(values[(lo * k)..<((lo + part.count) * k)]), shape: [part.count, k], on: backend)
                }
                out += try generator(z: z, condition: config.model.isConditional ? c : nil, training: false).array()
            }
        }
        return out
    }

    /// One-hot rows requesting class `k` for each of `count` images.
    public static func classConditions(_ classes: [Int], labelCount: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: classes.count * labelCount)
        for (n, k) in classes.enumerated() {
            guard (0..<labelCount).contains(k) else { throw HistoGANError.invalidConfig("class \(k) outside 0..<\(labelCount)") }
            out[n * labelCount + k] = 1
        }
        return out
    }

    /// Multi-hot rows requesting the tags named in `tags` (one row, repeated `count` times); throws naming an unknown
    /// tag and the ones the model knows.
    public static func tagConditions(_ tags: [String], config: ClassicGANConfig, count: Int) throws -> [Float] {
        var row = [Float](repeating: 0, count: config.labelCount)
        for tag in tags {
            guard let i = config.labelNames.firstIndex(of: tag) else {
                throw HistoGANError.invalidConfig("tag '\(tag)' is not one of \(config.labelNames.joined(separator: ", "))")
            }
            row[i] = 1
        }
        return Array((0..<count).map { _ in row }.joined())
    }

    /// `[C, R, R]` planes in [−1, 1] as RGB images in [0, 1] (grey replicated).
    public static func images(_ values: [Float], channels: Int, resolution r: Int) throws -> [Image] {
        let plane = r * r, size = channels * plane
        return try stride(from: 0, to: values.count, by: size).map { start in
            let item = values[start..<(start + size)].map { min(1, max(0, ($0 + 1) / 2)) }
            return try Image(width: r, height: r, pixels: channels == 3 ? item : item + item + item)
        }
    }

    /// The sample grid of a run: rows = classes (conditional models; one row per class, `columns` seeds each) or
    /// `rows` rows of seeds (unconditional), written as a PNG scaled up by `zoom`.
    public static func writeGrid(_ generator: ClassicGenerator, columns: Int = 10, rows: Int = 10, zoom: Int = 2,
                                 on backend: any Backend, to path: String) throws {
        let config = generator.config
        let rowCount = config.model.isConditional ? config.labelCount : rows
        let seeds = (0..<(rowCount * columns)).map { $0 % columns + (config.model.isConditional ? 0 : $0 / columns * columns) }
        let conditions = config.model.isConditional
            ? try classConditions((0..<(rowCount * columns)).map { $0 / columns }, labelCount: config.labelCount) : nil
        let values = try generate(generator, seeds: seeds, conditions: conditions, on: backend)
        let r = config.resolution
        let cells = try images(values, channels: config.channels, resolution: r).map { try $0.resizedNearest(width: r * zoom, height: r * zoom) }
        try ImageIO.writePNG(Image.grid(cells, columns: columns), to: path)
    }
}
