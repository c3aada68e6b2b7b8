import Engine
import Foundation

/// One image written by `Sampler.writeSamples` into a folder: a row of its `index.csv`.
public struct SampleFile: Sendable, Equatable {
    /// File name inside the folder, `t{TT}-{stem}-s{SEED}.png`.
    public var file: String
    /// Index of the target in the list given.
    public var target: Int
    /// The target's name (`ColorTarget.name`: its path, or `path[i]` for a `.npy` batch).
    public var targetName: String
    /// Latent seed.
    public var seed: Int

    /// A row of `index.csv`.
    public init(file: String, target: Int, targetName: String, seed: Int) {
        self.file = file
        self.target = target
        self.targetName = targetName
        self.seed = seed
    }

    /// `index.csv`: the header `file,target,seed`, then one row per file (target = the target's name; fields
    /// holding a comma, quote or line break are quoted, RFC 4180).
    public static func csv(_ files: [SampleFile]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        return (["file,target,seed"] + files.map { "\(field($0.file)),\(field($0.targetName)),\($0.seed)" }).joined(separator: "\n") + "\n"
    }
}

extension ColorTarget {
    /// A short, file-name-safe name: the last path component without its extension (`sunset` for
    /// `photos/sunset.jpg`, `h-2` for `h.npy[2]`), other characters than letters, digits, `-` and `_` as `_`.
    public var stem: String {
        var last = (name as NSString).lastPathComponent
        if last.hasSuffix("]"), let open = last.range(of: ".npy[", options: [.caseInsensitive, .backwards]) {
            last = "\(last[..<open.lowerBound])-\(last[open.upperBound..<last.index(before: last.endIndex)])"
        } else {
            last = (last as NSString).deletingPathExtension
        }
        let safe = String(last.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" })
        return safe.isEmpty ? "target" : safe
    }
}

extension Sampler {
    /// `t{TT}-{stem}-s{SEED}.png`, target index and seed zero-padded to `targetDigits` and `seedDigits`
    /// (e.g. `t00-sunset-s0007.png`), so that names sort by target, then seed.
    public static func sampleFileName(target: Int, stem: String, seed: Int, targetDigits: Int = 2, seedDigits: Int = 4) -> String {
        func padded(_ n: Int, _ digits: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, digits - s.count)) + s
        }
        return "t\(padded(target, targetDigits))-\(stem)-s\(padded(seed, seedDigits)).png"
    }

    /// Generates `seeds.count` images per target (one batch per target, the same seeds for every target,
    /// per-pixel `noise`, truncation ψ) and writes them:
    /// 1. with `grid`, a PNG grid: one row per target (its thumbnail, or a picture of its histogram, first), one
    ///    column per seed;
    /// 2. with `directory`, one PNG per (target, seed) named by `sampleFileName` (at least 2 target digits and 4
    ///    seed digits, more when the largest index or seed needs them) and `index.csv` (`SampleFile.csv`).
    /// At least one of the two is required. Returns the files written to `directory` (empty without one).
    @discardableResult
    public func writeSamples(targets: [ColorTarget], seeds: [Int], truncation: Float, noise: NoiseMode = .none,
                             grid: String?, directory: String?) throws -> [SampleFile] {
        guard grid != nil || directory != nil else {
            throw HistoGANError.invalidConfig("nothing to write: give a grid file (--output) or a folder (--outdir)")
        }
        if let directory { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let r = generator.config.resolution
        let targetDigits = max(2, String(max(0, targets.count - 1)).count), seedDigits = max(4, String(seeds.max() ?? 0).count)
        var cells: [Image] = [], files: [SampleFile] = []
        for (t, target) in targets.enumerated() {
            let images = try generate(seeds: seeds, histograms: Array(repeating: target.histogram, count: seeds.count),
                                      truncation: truncation, noise: noise)
            if grid != nil {
                cells.append(try target.image.map { try $0.resizedNearest(width: r, height: r) }
                    ?? HistogramPlot().composite(target.histogram, bins: generator.config.histogramBins, side: r))
                cells += images
            }
            guard let directory else { continue }
            for (seed, image) in zip(seeds, images) {
                let file = Sampler.sampleFileName(target: t, stem: target.stem, seed: seed, targetDigits: targetDigits, seedDigits: seedDigits)
                try ImageIO.writePNG(image, to: directory + "/" + file)
                files.append(SampleFile(file: file, target: t, targetName: target.name, seed: seed))
            }
        }
        if let grid { try ImageIO.writePNG(Image.grid(cells, columns: seeds.count + 1), to: grid) }
        if let directory {
            try SampleFile.csv(files).write(toFile: directory + "/index.csv", atomically: true, encoding: .utf8)
        }
        return files
    }
}
