import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// HistoGAN/Histogram: distances and the loss by hand, the tool and plot end to end, and the
/// `histogram` command run as a process.
final class HistogramToolTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("histtool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A PNG of a smooth gradient `width × height` tinted by `tint`, written to the test directory.
    func writeImage(_ name: String, width: Int, height: Int, tint: (Float, Float, Float)) throws -> String {
        var image = try Image(width: width, height: height, fill: (0, 0, 0))
        for y in 0..<height {
            for x in 0..<width {
                let s = Float(x + y) / Float(width + height)
                image[0, y, x] = tint.0 * (0.5 + 0.5 * s); image[1, y, x] = tint.1 * (1 - 0.5 * s); image[2, y, x] = tint.2
            }
        }
        let path = directory.appendingPathComponent(name).path
        try ImageIO.writePNG(image, to: path)
        return path
    }

    func testDistancesByHand() throws {
        XCTAssertEqual(try HistogramDistance.hellinger([1, 0], [0, 1]), 1, accuracy: 1e-12)
        XCTAssertEqual(try HistogramDistance.hellinger([2, 6], [1, 3]), 0, accuracy: 1e-12)
        // (1/√2)·sqrt((√½ − 1)² + ½) = sqrt(1 − √½)
        XCTAssertEqual(try HistogramDistance.hellinger([0.5, 0.5], [1, 0]), (1 - 0.5.squareRoot()).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(try HistogramDistance.klDivergence([1, 0], [0.5, 0.5]), log(2), accuracy: 1e-9)
        XCTAssertEqual(try HistogramDistance.klDivergence([1, 3], [1, 3]), 0, accuracy: 1e-12)
        // An empty bin of q costs log(p / ε) with ε = 1e-10.
        let e = 1e-10
        XCTAssertEqual(try HistogramDistance.klDivergence([0.5, 0.5], [1, 0]), 0.5 * log((0.5 + e) / (1 + e)) + 0.5 * log((0.5 + e) / e),
                       accuracy: 1e-9)
        XCTAssertThrowsError(try HistogramDistance.hellinger([1, 2], [1]))
        XCTAssertThrowsError(try HistogramDistance.klDivergence([0, 0], [1, 1]))
    }

    /// The official loss: α·(1/√2)·‖√T − √G‖₂ over the whole batch, divided by N.
    func testHistogramLossMatchesOfficialDefinition() throws {
        let target: [Float] = [0.25, 0.25, 0.5, 0, 1, 0, 0, 0], generated: [Float] = [0, 0.5, 0.5, 0, 0.25, 0.25, 0.25, 0.25]
        var sum = 0.0
        for i in target.indices { let d = Double(target[i]).squareRoot() - Double(generated[i]).squareRoot(); sum += d * d }
        let want = 2 * (sum / 2).squareRoot() / 2
        XCTAssertEqual(try HistogramDistance.histogramLoss(target: target, generated: generated, batch: 2), want, accuracy: 1e-12)
        XCTAssertEqual(try HistogramDistance.histogramLoss(target: target, generated: generated, batch: 2, weight: 1), want / 2, accuracy: 1e-12)
        XCTAssertThrowsError(try HistogramDistance.histogramLoss(target: target, generated: generated, batch: 3))
        // The tensor version must agree with the host one.
        let backend = CPUBackend()
        do {
            let tt = try Tensor([[Float]](repeating: target, count: 3).flatMap { $0 }, shape: [2, 3, 2, 2], on: backend)
            let gg = try Tensor([[Float]](repeating: generated, count: 3).flatMap { $0 }, shape: [2, 3, 2, 2], on: backend)
            let loss = try Tensor.histogramLoss(target: tt, generated: gg).item()
            let host = try HistogramDistance.histogramLoss(target: try tt.array(), generated: try gg.array(), batch: 2)
            XCTAssertEqual(Double(loss), host, accuracy: 1e-5 * host)
        }
    }

    /// Mixed image sizes keep their order; the .npy holds exactly the op's result; the plot decodes.
    func testToolWritesNpyAndPlotInOrder() throws {
        let a = try writeImage("a.png", width: 12, height: 9, tint: (1, 0.3, 0.2))
        let b = try writeImage("b.png", width: 7, height: 5, tint: (0.2, 0.9, 0.4))
        let c = try writeImage("c.png", width: 12, height: 9, tint: (0.3, 0.3, 1))
        let backend = CPUBackend(), options = HistogramOptions(bins: 16, maxSize: 8)
        let tool = HistogramTool(backend: backend, options: options)
        let output = directory.appendingPathComponent("h.npy").path, plot = directory.appendingPathComponent("p.png").path
        try tool.run(paths: [a, b, c], output: output, plot: plot)
        let saved = try NumPyFile.read(output)
        XCTAssertEqual(saved.shape, [3, 3, 16, 16])
        for (k, path) in [a, b, c].enumerated() {
            let single = try Tensor.rgbuvHistogram(try Image.tensor([try ImageIO.read(path)], on: backend), options: options).array()
            XCTAssertEqual(Array(saved.values[(k * 768)..<((k + 1) * 768)]), single, "image \(k) out of order")
        }
        let picture = try ImageIO.read(plot)
        let side = 16 * (192 / 16)
        XCTAssertEqual([picture.width, picture.height], [4 * side + 5 * 4, 3 * side + 4 * 4])
        let same = try tool.compare(a, a), different = try tool.compare(a, c)
        XCTAssertEqual(same.hellinger, 0, accuracy: 1e-9)
        XCTAssertGreaterThan(different.hellinger, 0.5)
        XCTAssertGreaterThan(different.klAB, 0)
        XCTAssertThrowsError(try tool.run(paths: [a, directory.appendingPathComponent("missing.png").path], output: output)) {
            XCTAssertTrue("\($0)".contains("missing.png"), "\($0)")
        }
    }

    /// The built `histogan-gpu` binary: `histogram -o` writes a file NumPy loads, `--compare` prints
    /// both distances, and a bad image is an error naming the file with a non-zero exit status.
    func testCommandLine() throws {
        func run(_ arguments: [String]) throws -> (Int32, String) {
            try runHistogan(arguments, environment: ["HISTOGAN_DEVICE": "cpu"])
        }
        let a = try writeImage("a.png", width: 10, height: 6, tint: (1, 0.5, 0.2))
        let b = try writeImage("b.png", width: 5, height: 5, tint: (0.2, 0.5, 1))
        let output = directory.appendingPathComponent("cli.npy").path
        let (status, text) = try run(["histogram", a, b, "--output", output, "--bins", "8", "--kernel", "gaussian", "--sigma", "0.1"])
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(try NumPyFile.read(output).shape, [2, 3, 8, 8])
        let (compareStatus, compareText) = try run(["histogram", "--compare", a, b, "--bins", "8"])
        XCTAssertEqual(compareStatus, 0, compareText)
        XCTAssertTrue(compareText.contains("Hellinger distance") && compareText.contains("KL(A||B)"), compareText)
        let text1 = directory.appendingPathComponent("notes.png").path
        try Data("text".utf8).write(to: URL(fileURLWithPath: text1))
        let (badStatus, badText) = try run(["histogram", text1, "--output", output])
        XCTAssertNotEqual(badStatus, 0)
        XCTAssertTrue(badText.contains(text1), badText)
        let (usageStatus, usageText) = try run(["histogram", a, "--output", output, "--bins", "0"])
        XCTAssertNotEqual(usageStatus, 0)
        XCTAssertTrue(usageText.contains("--bins"), usageText)
    }
}
