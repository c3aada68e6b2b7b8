import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// The recolouring pipeline (sizes, errors), projection, and the evaluation report's arithmetic.
final class RecolorerTests: XCTestCase {
    func temporaryDirectory(_ tag: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("recolor-\(tag)-\(UUID())").path
    }

    /// A smooth colourful test image of `width × height`.
    static func photo(width: Int, height: Int) throws -> Image {
        var image = try Image(width: width, height: height, fill: (0, 0, 0))
        for y in 0..<height { for x in 0..<width {
            image[0, y, x] = Float(x) / Float(width)
            image[1, y, x] = Float(y) / Float(height)
            image[2, y, x] = 0.5 + 0.4 * sin(Float(x + y) / 3)
        } }
        return image
    }

    func testOutputsTakeTheInputsSizeOrTheNetworks() throws {
        let backend = TestBackends.cpu
        let directory = temporaryDirectory("sizes")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ReHistoGANCheckpoint.save(ReHistoGANTrainer(options: ReHistoGANTests.options(), backend: backend), to: directory)
        let network = try ReHistoGANRecolorer(checkpoint: directory + "/" + Checkpoint.fileName, backend: backend)
        let target = ColorTarget(histogram: try ReHistoGANTests.targets(1, seed: 1, on: backend).array(), image: nil, name: "t")
        let input = try Self.photo(width: 37, height: 23)
        for (upsample, post, size) in [(RecolorUpsample.pyramid, RecolorPostTransfer.none, (37, 23)), (.none, .none, (16, 16)),
                                       (.none, .mkl, (37, 23))] {
            let out = try Recolorer(network: network, upsample: upsample, postTransfer: post).recolor(input, name: "in.png", target: target)
            XCTAssertEqual(out.output.width, size.0, "\(upsample) \(post)")
            XCTAssertEqual(out.output.height, size.1, "\(upsample) \(post)")
            XCTAssertEqual(out.network.width, 16)
            XCTAssertTrue(out.output.pixels.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
        }
        XCTAssertThrowsError(try Recolorer(network: network).recolor(Self.photo(width: 5, height: 40), name: "tiny.png", target: target)) {
            XCTAssertTrue("\($0)".contains("tiny.png"), "\($0)")
        }
        let wrongBins = ColorTarget(histogram: [Float](repeating: 0.01, count: 3 * 16 * 16), image: nil, name: "big.npy")
        XCTAssertThrowsError(try Recolorer(network: network).recolor(input, name: "in.png", target: wrongBins)) {
            XCTAssertTrue("\($0)".contains("big.npy"), "\($0)")
        }
    }

    func testProjectionFitsAnImageTheGeneratorCanMake() throws {
        let backend = TestBackends.cpu
        let directory = temporaryDirectory("projection")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trainer = try Trainer(options: TrainingOptions(network: ReHistoGANTests.network, batch: 2, seed: 4), backend: backend)
        try Checkpoint.save(trainer, to: directory)
        let projection = try ProjectionRecolorer(checkpoint: directory + "/" + Checkpoint.fileName, backend: backend,
                                                 options: ProjectionOptions(steps: 40, learningRate: 0.05, regularization: 0))
        // The image of a random w (the generator's own output for z of seed 11, const noise) is reachable.
        let g = projection.sampler.generator
        let z = try SampleGrid.latents(seeds: [11], dim: g.config.latentDim, on: backend)
        let goal = try Autograd.withoutGrad {
            let h = try ReHistoGANTests.targets(1, seed: 2, on: backend)
            let ws = try g.ws(z: z, histograms: h)
            let wHist = try g.histogramEncoder(Tensor.rgbuvHistogram((g.synthesis(ws, noise: NoiseSource(seed: 0, layout: .shared)) + 1) * 0.5,
                                                                     options: projection.histogramOptions))
            // Regenerate so that the histogram blocks see the image's own histogram, as projection does.
            return try g.synthesis(Array(ws[..<g.synthesis.firstHistogramW]) + [Tensor](repeating: wHist, count: 6),
                                   noise: NoiseSource(seed: 0, layout: .shared))
        }
        var losses: [Double] = []
        projection.progress = { _, _, loss in losses.append(loss) }
        _ = try projection.project(goal)
        XCTAssertEqual(losses.count, 40)
        XCTAssertLessThan(losses.last!, 0.5 * losses.first!, "\(losses.first!) → \(losses.last!)")
    }

    func testReportMeansAndRatiosAreHandWorked() throws {
        let pairs = [RecolorPairResult(input: "a", target: "x", before: 0.4, after: 0.2, mkl: 0.1, ssim: 0.9, ssimMKL: 0.8),
                     RecolorPairResult(input: "b", target: "x", before: 0.6, after: 0.4, mkl: 0.3, ssim: 0.7, ssimMKL: 0.6)]
        let report = try RecolorReport(method: "rehistogan", pairs: pairs, histogram: ColorControlOptions.paperHistogram(bins: 8))
        XCTAssertEqual(report.meanBefore, 0.5, accuracy: 1e-12)
        XCTAssertEqual(report.meanAfter, 0.3, accuracy: 1e-12)
        XCTAssertEqual(report.ratio, 0.6, accuracy: 1e-12)
        XCTAssertEqual(report.mklRatio, 0.4, accuracy: 1e-12)
        XCTAssertEqual(report.meanSSIM, 0.8, accuracy: 1e-12)
        XCTAssertTrue(report.table().contains("after/before 0.600"))
        XCTAssertThrowsError(try RecolorReport(method: "x", pairs: [], histogram: ColorControlOptions.paperHistogram(bins: 8)))
    }
}
