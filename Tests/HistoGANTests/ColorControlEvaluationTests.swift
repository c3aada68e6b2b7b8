import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// The colour-control metrics: the arithmetic against values worked out by hand, then `evaluate` end to end on a
/// tiny untrained generator.
final class ColorControlEvaluationTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("evaluate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    // Two 4-bin "histograms" (any length works: HistogramDistance divides each by its sum):
    //   A = [1/4, 1/4, 1/4, 1/4]           √A = [1/2, 1/2, 1/2, 1/2]
    //   B = [0.64, 0.16, 0.16, 0.04]       √B = [0.8, 0.4, 0.4, 0.2]
    // H(A, B) = sqrt(((0.3)² + (0.1)² + (0.1)² + (0.3)²) / 2) = sqrt(0.2 / 2) = √0.1          = 0.31622776601683794
    // KL(A‖B) = ¼·ln((¼)⁴ / (0.64·0.16·0.16·0.04)) = ¼·ln(25⁴ / 16⁴) = ln(25/16)            = 0.44628710262841953
    // KL(B‖A) = Σ b·ln(4b) = 0.64·ln 2.56 + 0.32·ln 0.64 + 0.04·ln 0.16                        = 0.38548951404351484
    static let a: [Float] = [0.25, 0.25, 0.25, 0.25]
    static let b: [Float] = [0.64, 0.16, 0.16, 0.04]
    static let hAB = 0.31622776601683794, klAB = 0.44628710262841953, klBA = 0.38548951404351484

    func testReportMatchesTheHandComputedCase() throws {
        // Target 0 = A, target 1 = B; K = 2 images each. Target 0's images measure A and A (A scaled by 2: the
        // distances normalise), target 1's measure B and A.
        //   matched H:    t0: H(A,A)=0, H(A,A)=0;      t1: H(B,B)=0, H(A,B)=√0.1   → mean √0.1/4
        //   mismatched H: t0: H(A,B)=√0.1, √0.1;        t1: H(B,A)=√0.1, H(A,A)=0   → mean 3√0.1/4, ratio 1/3
        //   matched KL(target‖gen):    t0: 0, 0;        t1: KL(B‖B)=0, KL(B‖A)        → KL(B‖A)/4
        //   mismatched KL(other‖gen):  t0: KL(B‖A) twice; t1: KL(A‖B), KL(A‖A)=0    → (2·KL(B‖A) + KL(A‖B))/4
        // Diversity: target 0's 1x1 images [0,0,0] and [.5,.5,.5] differ by 0.5 everywhere → RMS 0.5; target 1's
        // [.2,.5,.1] and [.3,.4,.6] differ by (.1, .1, .5) → sqrt((.01 + .01 + .25)/3) = sqrt(.09) = 0.3; mean 0.4.
        // Target spread: H(A,B) = H(B,A) = √0.1.
        let a2 = Self.a.map { $0 * 2 }
        let images = [[try Image(width: 1, height: 1, pixels: [0, 0, 0]), try Image(width: 1, height: 1, pixels: [0.5, 0.5, 0.5])],
                      [try Image(width: 1, height: 1, pixels: [0.2, 0.5, 0.1]), try Image(width: 1, height: 1, pixels: [0.3, 0.4, 0.6])]]
        let options = ColorControlOptions(imagesPerTarget: 2)
        let report = try ColorControlEvaluation.report(names: ["A", "B"], targets: [Self.a, Self.b],
                                                       generated: [[Self.a, a2], [Self.b, Self.a]], images: images, options: options)
        let tolerance = 1e-6
        XCTAssertEqual(report.matchedHellinger, Self.hAB / 4, accuracy: tolerance)            // 0.07905694150420949
        XCTAssertEqual(report.mismatchedHellinger, 3 * Self.hAB / 4, accuracy: tolerance)     // 0.23717082451262844
        XCTAssertEqual(report.hellingerRatio, 1.0 / 3, accuracy: tolerance)
        XCTAssertEqual(report.matchedKL, Self.klBA / 4, accuracy: tolerance)                   // 0.09637237851087871
        XCTAssertEqual(report.mismatchedKL, (2 * Self.klBA + Self.klAB) / 4, accuracy: tolerance) // 0.3043165326788623
        XCTAssertEqual(report.klRatio, 0.3166846627178751, accuracy: tolerance)               // KL(B‖A) / (2·KL(B‖A) + KL(A‖B))
        XCTAssertEqual(report.diversity ?? -1, 0.4, accuracy: tolerance)
        XCTAssertEqual(report.targetSpread, Self.hAB, accuracy: tolerance)

        XCTAssertEqual(report.targets.map(\.name), ["A", "B"])
        let (t0, t1) = (report.targets[0], report.targets[1])
        XCTAssertEqual(t0.matchedHellinger, 0, accuracy: tolerance)
        XCTAssertEqual(t0.mismatchedHellinger, Self.hAB, accuracy: tolerance)
        XCTAssertEqual(t1.matchedHellinger, Self.hAB / 2, accuracy: tolerance)
        XCTAssertEqual(t1.mismatchedHellinger, Self.hAB / 2, accuracy: tolerance)
        XCTAssertEqual(t0.matchedKL, 0, accuracy: tolerance)
        XCTAssertEqual(t0.mismatchedKL, Self.klBA, accuracy: tolerance)
        XCTAssertEqual(t1.matchedKL, Self.klBA / 2, accuracy: tolerance)
        XCTAssertEqual(t1.mismatchedKL, Self.klAB / 2, accuracy: tolerance)                   // ln(25/16)/2 = ln(1.25)
        XCTAssertEqual(t0.diversity ?? -1, 0.5, accuracy: tolerance)
        XCTAssertEqual(t1.diversity ?? -1, 0.3, accuracy: tolerance)

        // JSON: camelCase keys, sorted, and read back unchanged.
        let json = String(decoding: try report.json(), as: UTF8.self)
        for key in ["\"diversity\"", "\"hellingerRatio\"", "\"klRatio\"", "\"matchedHellinger\"", "\"matchedKL\"", "\"mismatchedHellinger\"",
                    "\"mismatchedKL\"", "\"options\"", "\"targetSpread\"", "\"targets\"", "\"imagesPerTarget\"", "\"seedStart\""] {
            XCTAssertTrue(json.contains(key), "JSON lacks \(key): \(json)")
        }
        XCTAssertLessThan(json.range(of: "\"diversity\"")!.lowerBound, json.range(of: "\"hellingerRatio\"")!.lowerBound, "sorted keys")
        XCTAssertEqual(try ColorControlReport.decoded(from: report.json()), report)
        let table = report.table()
        XCTAssertTrue(table.contains("0.0791") && table.contains("0.2372") && table.contains("0.3333"), table)
    }

    func testDiversityIsTheMeanPairwiseRMSAndNilForOneImage() throws {
        // Three 1x1 images at 0, 0.3 and 0.6 in every channel: pairs differ by 0.3, 0.3 and 0.6 → mean 0.4.
        let images = try [0, 0.3, 0.6].map { v in try Image(width: 1, height: 1, pixels: [Float](repeating: Float(v), count: 3)) }
        XCTAssertEqual(try ColorControlEvaluation.meanPairwiseRMS(images) ?? -1, 0.4, accuracy: 1e-6)
        XCTAssertNil(try ColorControlEvaluation.meanPairwiseRMS(Array(images.prefix(1))))
        // K = 1: no diversity anywhere, and no "diversity" key in the JSON.
        let report = try ColorControlEvaluation.report(names: ["A", "B"], targets: [Self.a, Self.b], generated: [[Self.a], [Self.b]],
                                                       diversities: [nil, nil], options: ColorControlOptions(imagesPerTarget: 1))
        XCTAssertNil(report.diversity)
        XCTAssertEqual(report.hellingerRatio, 0, accuracy: 1e-6)
        XCTAssertFalse(String(decoding: try report.json(), as: UTF8.self).contains("\"diversity\""))
    }

    func testErrorsNameTheFlags() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        XCTAssertTrue(message { try ColorControlOptions().validate(targets: 1) }.contains("--targets"))
        XCTAssertTrue(message { try ColorControlOptions(imagesPerTarget: 0).validate(targets: 2) }.contains("--per-target 0"))
        XCTAssertTrue(message { try ColorControlOptions(seedStart: -1).validate(targets: 2) }.contains("--seed-start -1"))
        XCTAssertTrue(message { try ColorControlOptions(histogram: HistogramOptions(bins: 1)).validate(targets: 2) }.contains("--bins 1"))
        XCTAssertTrue(message { try ColorControlOptions(histogram: HistogramOptions(sigma: 0)).validate(targets: 2) }.contains("--sigma"))
        XCTAssertTrue(message { _ = try ColorTarget.expandingDirectories([self.directory.path]) }.contains("--targets"))
        XCTAssertTrue(message { _ = try ColorTarget.expandingDirectories([self.directory.path + "/missing.png"]) }.contains("--targets"))
        // A histogram target (no image) cannot be measured with other bins than the network's.
        let histogram = ColorTarget(histogram: [Float](repeating: 1.0 / 192, count: 192), image: nil, name: "h.npy[0]")
        let measure = message { _ = try ColorControlEvaluation.measuredTargets([histogram], options: HistogramOptions(bins: 16),
                                                                              networkBins: 8, backend: TestBackends.cpu) }
        XCTAssertTrue(measure.contains("--bins 16") && measure.contains("h.npy[0]"), measure)
    }

    /// Two coloured gradient images written as PNGs into a folder.
    func writeTargets() throws -> String {
        let folder = directory.appendingPathComponent("targets").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, base) in [("a-warm.png", (0.9, 0.4, 0.1)), ("b-cool.png", (0.1, 0.5, 0.9))] {
            var pixels: [Float] = []
            for c in 0..<3 {
                let v = [base.0, base.1, base.2][c]
                for y in 0..<16 { for x in 0..<16 { pixels.append(Float(v * (0.6 + 0.4 * Double(x + y) / 30))) } }
            }
            try ImageIO.writePNG(Image(width: 16, height: 16, pixels: pixels), to: folder + "/" + name)
        }
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder + "/notes.txt"))
        return folder
    }

    func testEvaluateOnATinyUntrainedGeneratorGivesNoControl() throws {
        let backend = TestBackends.cpu
        let sampler = Sampler(generator: try Generator(config: SamplingTests.config, backend: backend, seed: 5), backend: backend)
        let paths = try ColorTarget.expandingDirectories([try writeTargets()])
        XCTAssertEqual(paths.map { ($0 as NSString).lastPathComponent }, ["a-warm.png", "b-cool.png"])
        let targets = try paths.flatMap { try ColorTarget.load($0, options: sampler.histogramOptions, backend: backend) }
        var calls: [Int] = []
        // Measured with 16 bins while the network takes 8: conditioning histograms keep 8, measured ones have 16.
        let options = ColorControlOptions(imagesPerTarget: 3, seedStart: 4, histogram: ColorControlOptions.paperHistogram(bins: 16))
        let report = try ColorControlEvaluation.evaluate(sampler: sampler, targets: targets, options: options, batchSize: 2) { done, total in
            XCTAssertEqual(total, 6)
            calls.append(done)
        }
        XCTAssertEqual(calls, [2, 3, 5, 6])
        XCTAssertEqual(report.options.histogram?.bins, 16)
        XCTAssertEqual(report.targets.count, 2)
        let values = [report.matchedHellinger, report.mismatchedHellinger, report.matchedKL, report.mismatchedKL, report.targetSpread]
        XCTAssertTrue(values.allSatisfy { $0.isFinite && $0 > 0 }, "\(values)")
        XCTAssertTrue(report.hellingerRatio > 0.5 && report.hellingerRatio < 2, "untrained: no control, ratio \(report.hellingerRatio)")
        XCTAssertTrue(report.klRatio.isFinite)
        XCTAssertGreaterThan(report.diversity ?? 0, 0)
        XCTAssertTrue(report.table().contains("a-warm.png"))

        // The network's bins by default; one histogram in a batch of 2 gives the same numbers (batching is invisible).
        let defaults = try ColorControlEvaluation.evaluate(sampler: sampler, targets: targets, options: ColorControlOptions(imagesPerTarget: 2))
        XCTAssertEqual(defaults.options.histogram, ColorControlOptions.paperHistogram(bins: 8))
        let single = try ColorControlEvaluation.evaluate(sampler: sampler, targets: targets, options: ColorControlOptions(imagesPerTarget: 2),
                                                         batchSize: 1)
        XCTAssertEqual(defaults.matchedHellinger, single.matchedHellinger, accuracy: 1e-5)
        XCTAssertEqual(defaults.diversity ?? 0, single.diversity ?? 1, accuracy: 1e-5)
    }
}
