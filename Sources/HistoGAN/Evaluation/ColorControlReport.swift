import Engine
import Foundation

/// Settings of a colour-control evaluation (`ColorControlEvaluation`); the errors of `validate` name the
/// `evaluate` flags.
public struct ColorControlOptions: Sendable, Equatable, Codable {
    /// K, images generated per target (`--per-target`).
    public var imagesPerTarget: Int
    /// First latent seed; every target gets seeds `seedStart ..< seedStart + K`, the same z for every target.
    public var seedStart: Int
    /// Truncation ψ toward the average w (1 = none).
    public var truncation: Float
    /// Per-pixel noise of the generated images.
    public var noise: NoiseMode
    /// How histograms are measured (generated images and image targets); nil: `paperHistogram(bins:)` with
    /// the network's bins. Independent of the histograms the network was trained with or is conditioned on.
    public var histogram: HistogramOptions?

    /// K images per target from `seedStart` on, truncation ψ, `noise` (default const, as NVlabs' generator),
    /// histograms measured with `histogram` (nil: the paper's histogram with the network's bins).
    public init(imagesPerTarget: Int = 8, seedStart: Int = 0, truncation: Float = 1, noise: NoiseMode = .const,
                histogram: HistogramOptions? = nil) {
        self.imagesPerTarget = imagesPerTarget
        self.seedStart = seedStart
        self.truncation = truncation
        self.noise = noise
        self.histogram = histogram
    }

    /// The paper's histogram: inverse-quadratic kernel, σ 0.02, images larger than 150 pixels reduced by sampling.
    public static func paperHistogram(bins: Int) -> HistogramOptions {
        HistogramOptions(bins: bins, kernel: .inverseQuadratic, sigma: 0.02, resize: .sampling)
    }

    /// The latent seeds of every target, `seedStart ..< seedStart + imagesPerTarget`.
    public var seeds: [Int] { Array(seedStart..<(seedStart + max(0, imagesPerTarget))) }

    /// Checks the settings for `targets` targets; the errors name the flags.
    public func validate(targets: Int) throws {
        func fail(_ message: String) -> HistoGANError { HistoGANError.invalidConfig(message) }
        guard targets >= 2 else {
            throw fail("--targets: \(targets) target\(targets == 1 ? "" : "s"); mismatched distances need at least 2")
        }
        guard imagesPerTarget >= 1 else { throw fail("--per-target \(imagesPerTarget): must be at least 1 (2 for diversity)") }
        guard seedStart >= 0 else { throw fail("--seed-start \(seedStart): must be >= 0") }
        guard truncation.isFinite else { throw fail("--truncation \(truncation): must be finite") }
        if let histogram {
            guard (2...HistogramOptions.maxBins).contains(histogram.bins) else {
                throw fail("--bins \(histogram.bins): must be between 2 and \(HistogramOptions.maxBins)")
            }
            guard histogram.sigma > 0, histogram.sigma.isFinite else { throw fail("--sigma \(histogram.sigma): must be positive") }
        }
    }
}

/// The paper's colour-control metrics (DESIGN.md §11) for one generator and a list of targets. Distances are
/// between RGB-uv histograms measured with `options.histogram`: Hellinger, and KL(target ‖ generated) in nats.
/// A matched distance compares an image with its own target, a mismatched one with every other target; a ratio
/// near 1 means the colours do not follow the target, near 0 means they follow it closely. `Codable` with
/// camelCase keys; `json()` writes them sorted.
public struct ColorControlReport: Sendable, Equatable, Codable {
    /// The measures of one target's K images.
    public struct Target: Sendable, Equatable, Codable {
        /// Where the target came from (`ColorTarget.name`).
        public var name: String
        /// Mean over its images of H(generated, this target).
        public var matchedHellinger: Double
        /// Mean over its images and the other targets t' of H(generated, t').
        public var mismatchedHellinger: Double
        /// Mean over its images of KL(this target ‖ generated).
        public var matchedKL: Double
        /// Mean over its images and the other targets t' of KL(t' ‖ generated).
        public var mismatchedKL: Double
        /// Mean pairwise RMS pixel difference of its images (in [0, 1]); nil for K = 1.
        public var diversity: Double?
    }

    /// Per target, in the order given.
    public var targets: [Target]
    /// Mean over targets t and images k of H(gen_tk, target_t).
    public var matchedHellinger: Double
    /// Mean over t, k and every t' ≠ t of H(gen_tk, target_t').
    public var mismatchedHellinger: Double
    /// matched / mismatched Hellinger (NaN when the mismatched distance is 0).
    public var hellingerRatio: Double
    /// Mean over t, k of KL(target_t ‖ gen_tk), nats.
    public var matchedKL: Double
    /// Mean over t, k and every t' ≠ t of KL(target_t' ‖ gen_tk), nats.
    public var mismatchedKL: Double
    /// matched / mismatched KL (NaN when the mismatched divergence is 0).
    public var klRatio: Double
    /// Mean over targets of their `diversity`; nil (no key in JSON) for K = 1.
    public var diversity: Double?
    /// Mean Hellinger distance between two distinct targets: how different the targets are (the mismatched
    /// distance of a perfect generator).
    public var targetSpread: Double
    /// The settings, with `histogram` resolved.
    public var options: ColorControlOptions
    /// The checkpoint evaluated, when known (`evaluate` sets it).
    public var checkpoint: String?

    /// Pretty-printed JSON with sorted keys; NaN and infinities as the strings "nan", "inf", "-inf".
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Reads what `json()` wrote.
    public static func decoded(from data: Data) throws -> ColorControlReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(ColorControlReport.self, from: data)
    }

    /// A readable table: one row per target (index, name, Hellinger matched / mismatched / ratio, KL matched /
    /// mismatched, diversity), then the settings and the summary.
    public func table() -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }
        func cell(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        let nameWidth = min(40, max(6, targets.map { $0.name.count }.max() ?? 0))
        func name(_ s: String) -> String {
            let short = s.count > nameWidth ? "…" + s.suffix(nameWidth - 1) : s
            return short + String(repeating: " ", count: max(0, nameWidth - short.count))
        }
        let columns = ["H match", "H other", "H ratio", "KL match", "KL other", "diversity"]
        var lines = ["  t  " + name("target") + columns.map { cell($0, 10) }.joined()]
        for (i, t) in targets.enumerated() {
            let ratio = t.mismatchedHellinger > 0 ? t.matchedHellinger / t.mismatchedHellinger : .nan
            let values = [t.matchedHellinger, t.mismatchedHellinger, ratio, t.matchedKL, t.mismatchedKL].map { cell(f($0), 10) }
            lines.append(cell(String(i), 3) + "  " + name(t.name) + values.joined() + cell(f(t.diversity), 10))
        }
        let h = options.histogram
        let histogram = h.map { "\($0.bins) bins, \($0.kernel.rawValue) σ \(String(format: "%g", $0.sigma)), resize \($0.resize.rawValue)" } ?? "-"
        let k = options.imagesPerTarget, seeds = k == 1 ? "\(options.seedStart)" : "\(options.seedStart)-\(options.seedStart + k - 1)"
        lines += [
            "",
            "\(targets.count) targets x \(k) images (seeds \(seeds), ψ \(String(format: "%g", options.truncation)), noise \(options.noise.rawValue)); histograms: \(histogram)",
            "Hellinger            matched \(f(matchedHellinger))  mismatched \(f(mismatchedHellinger))  ratio \(f(hellingerRatio))",
            "KL(target‖gen), nats matched \(f(matchedKL))  mismatched \(f(mismatchedKL))  ratio \(f(klRatio))",
            "diversity            \(f(diversity))  (mean pairwise RMS pixel difference, images in [0, 1])",
            "target spread        \(f(targetSpread))  (mean Hellinger between distinct targets)",
            "ratio ~1: colours do not follow the target; toward 0: they do",
        ]
        return lines.joined(separator: "\n")
    }
}
