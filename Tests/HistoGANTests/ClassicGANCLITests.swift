import Engine
import HistoGAN
import TestSupport
import Foundation
import XCTest

/// `histogan-gpu gan train | generate | evaluate` end to end on a tiny labelled folder (8x8, a few steps), and
/// their errors naming the bad flag or file.
final class ClassicGANCLITests: XCTestCase {
    func testTrainGenerateEvaluate() throws {
        let (dir, csv) = try ClassicGANTests.labelledFolder(count: 30)
        let out = dir + "-out"   // outputs outside the image folder, which evaluate reads again
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: out) }
        let run = out + "/run"
        let common = ["--data", dir, "--labels", csv, "--resolution", "8", "--device", "cpu"]
        let train = try runHistogan(["gan", "train", "--model", "cgan", "--output", run, "--steps", "3", "--batch", "4", "--width", "4",
                                     "--latent", "6", "--sample-every", "2"] + common)
        XCTAssertEqual(train.status, 0, train.output)
        XCTAssertTrue(train.output.contains("trained to step 3"), train.output)
        for file in ["checkpoint.safetensors", "log.jsonl", "options.json", "samples/step-000002.png", "samples/step-000003.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/" + file), "missing \(file)")
        }
        // The sample grid has one row per class (3) of 10 columns, cells 16 px (zoom 2) with 2 px gaps.
        let grid = try ImageIO.read(run + "/samples/step-000003.png")
        XCTAssertEqual([grid.width, grid.height], [10 * 16 + 11 * 2, 3 * 16 + 4 * 2])

        let checkpoint = run + "/checkpoint.safetensors"
        let generate = try runHistogan(["gan", "generate", "--checkpoint", checkpoint, "--count", "5", "--class", "2",
                                        "--outdir", out + "/gen", "--grid", out + "/grid.png", "--device", "cpu"])
        XCTAssertEqual(generate.status, 0, generate.output)
        XCTAssertTrue(generate.output.contains("requested: band2"), generate.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/gen").filter { $0.hasSuffix(".png") }.count, 5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/grid.png"))
        let badClass = try runHistogan(["gan", "generate", "--checkpoint", checkpoint, "--class", "3", "--outdir", out + "/x", "--device", "cpu"])
        XCTAssertNotEqual(badClass.status, 0)
        XCTAssertTrue(badClass.output.contains("--class 3"), badClass.output)

        let evaluate = try runHistogan(["gan", "evaluate", "--checkpoint", checkpoint, "--count", "6", "--classifier", out + "/clf.safetensors",
                                        "--classifier-steps", "3", "--json", out + "/eval.json"] + common)
        XCTAssertEqual(evaluate.status, 0, evaluate.output)
        XCTAssertTrue(evaluate.output.contains("trained the classifier"), evaluate.output)
        let report = try JSONDecoder().decode(ClassicEvaluationReport.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/eval.json")))
        XCTAssertEqual(report.real.count, 3)            // every 10th of 30 images held out
        XCTAssertEqual(report.generated.count, 6)
        XCTAssertNotNil(report.generated.accuracy)
        let again = try runHistogan(["gan", "evaluate", "--checkpoint", checkpoint, "--count", "6", "--classifier", out + "/clf.safetensors",
                                     "--classifier-steps", "3"] + common)
        XCTAssertTrue(again.output.contains("classifier: \(out)/clf.safetensors"), "cached classifier not reused: \(again.output)")

        let resumeMissing = try runHistogan(["gan", "train", "--model", "dcgan", "--output", out + "/none", "--resume", "--steps", "2"] + common)
        XCTAssertNotEqual(resumeMissing.status, 0)
        XCTAssertTrue(resumeMissing.output.contains("no checkpoint.safetensors in \(out)/none"), resumeMissing.output)
        let unlabelled = try runHistogan(["gan", "train", "--model", "acgan", "--output", out + "/u", "--data", dir, "--resolution", "8",
                                          "--device", "cpu"])
        XCTAssertNotEqual(unlabelled.status, 0)
        XCTAssertTrue(unlabelled.output.contains("needs labelled data"), unlabelled.output)
    }
}
