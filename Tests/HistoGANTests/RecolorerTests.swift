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
        // A greyscale input recolours through the network, but the MKL post transfer refuses it by name.
        let grey = try Image(width: 20, height: 20, fill: (0.5, 0.5, 0.5))
        XCTAssertNoThrow(try Recolorer(network: network).recolor(grey, name: "grey.png", target: target))
        XCTAssertThrowsError(try Recolorer(network: network, postTransfer: .mkl).recolor(grey, name: "grey.png", target: target)) {
            XCTAssertTrue("\($0)".contains("grey.png is greyscale"), "\($0)")
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

/// `recolor-train`, `recolor` and `evaluate-recolor` as a user runs them (the built binary, CPU).
final class RecolorCommandLineTests: XCTestCase {
    func testTrainResumeRecolorAndEvaluate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recolor-cli-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let demo = DemoDataGenerator(resolution: 16, seed: 3)
        for i in 0..<6 { try ImageIO.writePNG(Image(width: 16, height: 16, pixels: demo.image(i)), to: "\(dir)/data/\(i).png") }
        let photo = dir + "/photo.png", target = dir + "/data/5.png", out = dir + "/out.png"
        try ImageIO.writePNG(RecolorerTests.photo(width: 40, height: 30), to: photo)
        func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try runHistogan(arguments, environment: ["HISTOGAN_DEVICE": "cpu"])
        }
        let network = ["--resolution", "16", "--capacity", "0.015625", "--latent", "16", "--mapping-layers", "2", "--bins", "8"]
        let train = ["recolor-train", "--data", dir + "/data", "--output", dir + "/run", "--batch", "2"] + network
        let first = try run(train + ["--steps", "2"])
        XCTAssertEqual(first.status, 0, first.output)
        let again = try run(train + ["--steps", "2"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.output.contains("--resume"), again.output)
        let resumed = try run(train + ["--steps", "3", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("resuming at step 2"), resumed.output)
        let log = try String(contentsOfFile: dir + "/run/log.jsonl", encoding: .utf8)
        // Records at the end of each run (--log-every 10): steps 2 and 3.
        XCTAssertEqual(log.split(separator: "\n").map { $0.contains("\"step\":2") || $0.contains("\"step\":3") }, [true, true], log)
        let checkpoint = dir + "/run/checkpoint.safetensors"
        let recolor = try run(["recolor", "--checkpoint", checkpoint, "--input", photo, "--target", target, "--output", out])
        XCTAssertEqual(recolor.status, 0, recolor.output)
        XCTAssertEqual(ImageSize(try ImageIO.read(out)), ImageSize(width: 40, height: 30))
        let evaluate = try run(["evaluate-recolor", "--checkpoint", checkpoint, "--inputs", photo, "--targets", target,
                                "--json", dir + "/r.json"])
        XCTAssertEqual(evaluate.status, 0, evaluate.output)
        XCTAssertTrue(evaluate.output.contains("after/before"), evaluate.output)
        let report = try JSONDecoder().decode(RecolorReport.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json")))
        XCTAssertEqual(report.pairs.count, 1)
        let missing = try run(["recolor", "--checkpoint", checkpoint, "--input", dir + "/nothing", "--target", target, "--output", out])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("--input") && missing.output.contains("nothing"), missing.output)
    }
}
