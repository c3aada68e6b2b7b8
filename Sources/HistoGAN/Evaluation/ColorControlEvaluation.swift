import Engine
import Foundation

/// Colour control of a trained generator, the HistoGAN paper's metrics (DESIGN.md §11): how close the RGB-uv
/// histograms of generated images come to their target's (matched) compared with other targets' (mismatched),
/// and how varied the images of one target are. `evaluate` generates and measures; `report` is the arithmetic
/// alone, on the host in Double (`HistogramDistance`).
public enum ColorControlEvaluation {
    // MARK: - Generate and measure

    /// Evaluates `sampler`'s generator on `targets` (at least 2):
    /// 1. Measured target histograms (`measuredTargets`) with `options.histogram`, default the paper's histogram
    ///    with the network's bins.
    /// 2. For each target t: K images with seeds `options.seeds` (the same z for every target), conditioned on
    ///    `t.histogram` (the network's bins, whatever `options.histogram` says), truncation ψ and `options.noise`,
    ///    generated `batchSize` at a time.
    /// 3. Each image's histogram measured on the backend (`histograms(of:)`) after 8-bit rounding (what `generate`
    ///    saves), its diversity (`meanPairwiseRMS`).
    /// 4. `report`: matched and mismatched Hellinger and KL, their ratios, diversity and target spread.
    /// `progress(done, total)` is called after each batch with the images generated so far.
    public static func evaluate(sampler: Sampler, targets: [ColorTarget], options: ColorControlOptions = ColorControlOptions(),
                                batchSize: Int = 8, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> ColorControlReport {
        try options.validate(targets: targets.count)
        guard batchSize >= 1 else { throw HistoGANError.invalidConfig("--batch \(batchSize): must be at least 1") }
        let config = sampler.generator.config, backend = sampler.backend
        var resolved = options
        let measure = options.histogram ?? ColorControlOptions.paperHistogram(bins: config.histogramBins)
        resolved.histogram = measure
        let measuredTargets = try measuredTargets(targets, options: measure, networkBins: config.histogramBins, backend: backend)
        let seeds = options.seeds, total = targets.count * seeds.count
        var generated: [[[Float]]] = [], diversities: [Double?] = []
        for (t, target) in targets.enumerated() {
            guard target.histogram.count == 3 * config.histogramBins * config.histogramBins else {
                throw HistoGANError.data("\(target.name): histogram of \(target.histogram.count) values, the network takes [3, \(config.histogramBins), \(config.histogramBins)]")
            }
            var histograms: [[Float]] = [], images: [Image] = []
            for start in stride(from: 0, to: seeds.count, by: batchSize) {
                let batch = Array(seeds[start..<min(seeds.count, start + batchSize)])
                let generatedImages = try sampler.generate(seeds: batch, histograms: Array(repeating: target.histogram, count: batch.count),
                                                           truncation: options.truncation, noise: options.noise)
                // Measured as a PNG stores them (8 bits): rounding moves dark values a long way in log-chroma.
                histograms += try Self.histograms(of: generatedImages.map { $0.quantized8() }, options: measure, backend: backend)
                images += generatedImages
                progress?(t * seeds.count + start + batch.count, total)
            }
            generated.append(histograms)
            diversities.append(try meanPairwiseRMS(images))
        }
        return try report(names: targets.map(\.name), targets: measuredTargets, generated: generated, diversities: diversities,
                          options: resolved)
    }

    /// The histograms that generated images are compared with, measured with `options`: an image target's image
    /// is measured; a `.npy` target (no image) is taken as it is, so `options.bins` must equal the network's.
    public static func measuredTargets(_ targets: [ColorTarget], options: HistogramOptions, networkBins: Int,
                                       backend: any Backend) throws -> [[Float]] {
        try targets.map { target in
            if let image = target.image { return try histograms(of: [image], options: options, backend: backend)[0] }
            guard options.bins == networkBins, target.histogram.count == 3 * networkBins * networkBins else {
                throw HistoGANError.invalidConfig("--bins \(options.bins): target \(target.name) is a histogram with the network's \(networkBins) bins, not an image, so it cannot be measured with \(options.bins); give images or leave --bins at \(networkBins)")
            }
            return target.histogram
        }
    }

    /// RGB-uv histograms (each `[3, bins, bins]`, flattened) of equally sized images in [0, 1], one backend call.
    public static func histograms(of images: [Image], options: HistogramOptions, backend: any Backend) throws -> [[Float]] {
        let values = try Autograd.withoutGrad {
            try Tensor.rgbuvHistogram(Image.tensor(images, on: backend), options: options).array()
        }
        let per = 3 * options.bins * options.bins
        return (0..<images.count).map { Array(values[($0 * per)..<(($0 + 1) * per)]) }
    }

    // MARK: - Arithmetic

    /// The report of `report(names:targets:generated:diversities:options:)`, each target's diversity being the
    /// `meanPairwiseRMS` of `images[t]`, its K generated images.
    public static func report(names: [String], targets: [[Float]], generated: [[[Float]]], images: [[Image]],
                              options: ColorControlOptions) throws -> ColorControlReport {
        try report(names: names, targets: targets, generated: generated, diversities: images.map(meanPairwiseRMS), options: options)
    }

    /// The metrics from measured histograms: `targets[t]` is target t's histogram, `generated[t][k]` that of its
    /// k-th image (K the same for every target, T ≥ 2), `diversities[t]` its diversity.
    /// 1. Per target: matched = mean_k H(gen_tk, target_t), mismatched = mean over k and t' ≠ t of
    ///    H(gen_tk, target_t'); the same with KL(target ‖ gen).
    /// 2. Overall: the means of those (every target has K images, so these are the means over all t, k, t').
    /// 3. Ratios matched / mismatched; diversity the mean of the non-nil `diversities` (nil if none);
    ///    target spread the mean of H(target_t, target_t') over t ≠ t'.
    public static func report(names: [String], targets: [[Float]], generated: [[[Float]]], diversities: [Double?],
                              options: ColorControlOptions) throws -> ColorControlReport {
        let count = targets.count
        guard count >= 2 else { throw HistoGANError.invalidConfig("--targets: \(count) target(s); mismatched distances need at least 2") }
        guard names.count == count, generated.count == count, diversities.count == count else {
            throw HistoGANError.invalidConfig("\(count) targets but \(names.count) names, \(generated.count) generated sets, \(diversities.count) diversities")
        }
        let k = generated[0].count
        guard k >= 1, generated.allSatisfy({ $0.count == k }) else {
            throw HistoGANError.invalidConfig("every target needs the same number (>= 1) of generated histograms, got \(generated.map(\.count))")
        }
        var rows: [ColorControlReport.Target] = []
        for t in 0..<count {
            var matchedH = 0.0, otherH = 0.0, matchedKL = 0.0, otherKL = 0.0
            for g in generated[t] {
                matchedH += try HistogramDistance.hellinger(g, targets[t])
                matchedKL += try HistogramDistance.klDivergence(targets[t], g)
                for u in 0..<count where u != t {
                    otherH += try HistogramDistance.hellinger(g, targets[u])
                    otherKL += try HistogramDistance.klDivergence(targets[u], g)
                }
            }
            let n = Double(k), others = Double(k * (count - 1))
            rows.append(ColorControlReport.Target(name: names[t], matchedHellinger: matchedH / n, mismatchedHellinger: otherH / others,
                                                  matchedKL: matchedKL / n, mismatchedKL: otherKL / others, diversity: diversities[t]))
        }
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        func ratio(_ a: Double, _ b: Double) -> Double { b > 0 ? a / b : .nan }
        var spread: [Double] = []
        for t in 0..<count { for u in 0..<count where u != t { spread.append(try HistogramDistance.hellinger(targets[t], targets[u])) } }
        let matchedH = mean(rows.map(\.matchedHellinger)), otherH = mean(rows.map(\.mismatchedHellinger))
        let matchedKL = mean(rows.map(\.matchedKL)), otherKL = mean(rows.map(\.mismatchedKL))
        let known = diversities.compactMap { $0 }
        return ColorControlReport(targets: rows, matchedHellinger: matchedH, mismatchedHellinger: otherH, hellingerRatio: ratio(matchedH, otherH),
                                  matchedKL: matchedKL, mismatchedKL: otherKL, klRatio: ratio(matchedKL, otherKL),
                                  diversity: known.isEmpty ? nil : mean(known), targetSpread: mean(spread), options: options, checkpoint: nil)
    }

    /// Mean over pairs i < j of the RMS pixel difference `sqrt(mean((a_i − a_j)²))` over all `3·H·W` values of
    /// equally sized images; nil for fewer than 2 images.
    public static func meanPairwiseRMS(_ images: [Image]) throws -> Double? {
        guard images.count >= 2 else { return nil }
        guard images.allSatisfy({ $0.width == images[0].width && $0.height == images[0].height }) else {
            throw HistoGANError.data("diversity needs equally sized images, got \(images.map { "\($0.width)x\($0.height)" })")
        }
        var sum = 0.0, pairs = 0
        for i in images.indices {
            for j in images.indices where j > i {
                var squares = 0.0
                for (a, b) in zip(images[i].pixels, images[j].pixels) { let d = Double(a) - Double(b); squares += d * d }
                sum += (squares / Double(images[i].pixels.count)).squareRoot()
                pairs += 1
            }
        }
        return sum / Double(pairs)
    }
}

extension ColorTarget {
    /// `paths` with every directory replaced by the `.png`, `.jpg` and `.jpeg` files directly inside it (sorted by
    /// name; not recursive); files (images, `.npy`) are kept as they are. A directory without images, or a path
    /// that does not exist, is an error naming `flag`.
    public static func expandingDirectories(_ paths: [String], flag: String = "--targets") throws -> [String] {
        let fm = FileManager.default
        return try paths.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { throw HistoGANError.data("\(flag) \(path): no such file or directory") }
            guard isDirectory.boolValue else { return [path] }
            let images = try fm.contentsOfDirectory(atPath: path)
                .filter { ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted()
                .map { (path as NSString).appendingPathComponent($0) }
            guard !images.isEmpty else { throw HistoGANError.data("\(flag) \(path): no .png, .jpg or .jpeg images in this directory") }
            return images
        }
    }
}
