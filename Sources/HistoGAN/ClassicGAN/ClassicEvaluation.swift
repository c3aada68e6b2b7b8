import Engine
import Foundation

/// What `gan evaluate` reports for one set of images judged by the classifier.
public struct ClassifierFigures: Codable, Sendable {
    /// Images judged.
    public var count: Int
    /// Fraction whose predicted class is the requested one (generated, conditional) or the true one (real); nil
    /// when there is nothing to compare with (unconditional models).
    public var accuracy: Double?
    /// Classes predicted for at least 1% of the images.
    public var classesCovered: Int
    /// Share of the images predicted as each class.
    public var classShares: [Double]
    /// Inception-Score-like figure with the classifier: `exp(E_x KL(p(y|x) ‖ p(y)))`, between 1 and K.
    public var classifierScore: Double

    /// Figures of class probabilities `p` `[n][K]`, with the `expected` class of each image when known.
    public init(probabilities p: [[Float]], expected: [Int]?) {
        let n = p.count, k = p.first?.count ?? 0
        count = n
        var shares = [Double](repeating: 0, count: k), marginal = [Double](repeating: 0, count: k)
        var correct = 0
        for (i, row) in p.enumerated() {
            let predicted = row.indices.max { row[$0] < row[$1] } ?? 0
            shares[predicted] += 1 / Double(n)
            if let expected, expected[i] == predicted { correct += 1 }
            for j in 0..<k { marginal[j] += Double(row[j]) / Double(n) }
        }
        accuracy = expected.map { _ in Double(correct) / Double(max(n, 1)) }
        classShares = shares
        classesCovered = shares.filter { $0 >= 0.01 }.count
        var kl = 0.0
        for row in p {
            for j in 0..<k where row[j] > 0 { kl += Double(row[j]) * (log(Double(row[j])) - log(max(marginal[j], 1e-30))) }
        }
        classifierScore = exp(kl / Double(max(n, 1)))
    }
}

/// `gan evaluate`'s report: the classifier's own test accuracy, then the same figures on real test images and on
/// generated ones.
public struct ClassicEvaluationReport: Codable, Sendable {
    public var checkpoint: String
    public var model: String
    public var classNames: [String]
    public var classifier: String
    public var real: ClassifierFigures
    public var generated: ClassifierFigures

    /// A few lines for the terminal.
    public var text: String {
        func line(_ name: String, _ f: ClassifierFigures, _ what: String) -> String {
            let acc = f.accuracy.map { String(format: "%@ %.1f%%, ", what, $0 * 100) } ?? ""
            return String(format: "%@ (%d images): %@classes covered %d/%d, classifier score %.2f", name, f.count, acc,
                          f.classesCovered, f.classShares.count, f.classifierScore)
        }
        let shares = zip(classNames, generated.classShares).map { String(format: "%@ %.1f%%", $0, $1 * 100) }.joined(separator: ", ")
        return [line("real test images", real, "classifier accuracy"),
                line("generated (\(model))", generated, "requested-class accuracy"),
                "generated class shares: " + shares].joined(separator: "\n")
    }
}

/// Evaluation of classic-GAN checkpoints with a classifier trained on the real training set.
public enum ClassicEvaluation {
    /// Loads the classifier cached at `path`, or trains one on `training` for `steps` steps and saves it there
    /// (atomically), so later evaluations reuse it. `progress` gets (step, loss) while training.
    public static func classifier(cachedAt path: String, training: LabelledDataset, steps: Int, batch: Int = 64, seed: UInt64 = 0,
                                  backend: any Backend, progress: (Int, Float) -> Void) throws -> (ImageClassifier, trained: Bool) {
        guard training.labelKind == .classes, training.labelCount >= 2 else {
            throw HistoGANError.data("\(training.source): gan evaluate needs one class label per image (a labels CSV of `file,label` lines)")
        }
        let classifier = try ImageClassifier(channels: training.channels, resolution: training.resolution, classes: training.labelCount,
                                             seed: seed, on: backend)
        if FileManager.default.fileExists(atPath: path) {
            try classifier.parameters.load(from: path)
            return (classifier, false)
        }
        try classifier.train(on: training, steps: steps, batch: batch, seed: seed, backend: backend, report: progress)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try classifier.parameters.save(to: path, metadata: ["source": training.source, "steps": String(steps)])
        return (classifier, true)
    }

    /// Judges `test` (real, labelled) and `count` images of `generator` (seeds 0..<count; conditional models
    /// request class i mod K for image i) with `classifier`.
    public static func evaluate(generator: ClassicGenerator, checkpoint: String, classifier: ImageClassifier, classifierPath: String,
                                test: LabelledDataset, count: Int, backend: any Backend) throws -> ClassicEvaluationReport {
        let config = generator.config
        guard config.channels == classifier.channels, config.resolution == classifier.resolution else {
            throw HistoGANError.invalidConfig("\(checkpoint): \(config.channels)x\(config.resolution)² images, the classifier expects \(classifier.channels)x\(classifier.resolution)²")
        }
        let all = Array(0..<test.count)
        let real = ClassifierFigures(probabilities: try classifier.probabilities(test.images(all), on: backend),
                                     expected: all.map { test.labels[$0].first ?? -1 })
        let requested = config.model.isConditional ? (0..<count).map { $0 % config.labelCount } : nil
        let conditions = try requested.map { try ClassicSampling.classConditions($0, labelCount: config.labelCount) }
        let images = try ClassicSampling.generate(generator, seeds: Array(0..<count), conditions: conditions, on: backend)
        let generated = ClassifierFigures(probabilities: try classifier.probabilities(images, on: backend), expected: requested)
        return ClassicEvaluationReport(checkpoint: checkpoint, model: config.model.rawValue, classNames: test.labelNames,
                                       classifier: classifierPath, real: real, generated: generated)
    }
}
