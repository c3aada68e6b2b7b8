import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// Sampling with a tiny generator built directly (no checkpoint): style-mixing grids and interpolation output.
final class SamplingTests: XCTestCase {
    static let config = NetworkConfig(resolution: 32, capacity: 1.0 / 64, latentDim: 16, mappingLayers: 2, histogramBins: 8)

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sampling-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A sampler over a freshly initialised generator, with a non-zero w_avg so that truncation matters.
    func sampler() throws -> Sampler {
        let backend = TestBackends.cpu
        let generator = try Generator(config: Self.config, backend: backend, seed: 11)
        generator.mapping.wAverage = try Tensor.random([16], seed: 12, on: backend) * 0.1
        return Sampler(generator: generator, backend: backend)
    }

    /// A normalised `[3, 8, 8]` histogram with some structure.
    static let histogram: [Float] = {
        let raw = (0..<192).map { Float(1 + ($0 * 37) % 11) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }()

    /// The largest absolute difference between two images.
    func difference(_ a: Image, _ b: Image) -> Float {
        zip(a.pixels, b.pixels).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testStyleMixingCellsFollowTheCutoff() throws {
        let sampler = try sampler()
        let first = sampler.generator.synthesis.firstHistogramW
        XCTAssertEqual(sampler.mixingCutoffs, 0...5)
        XCTAssertEqual(sampler.defaultMixingCutoff, 2)
        let rows = [0, 1, 2], columns = [3, 4]
        func grid(_ cutoff: Int) throws -> StyleMixingGrid {
            try sampler.styleMixing(rowSeeds: rows, columnSeeds: columns, histogram: Self.histogram, cutoff: cutoff, truncation: 0.7)
        }
        let allColumn = try grid(0), allRow = try grid(first), mixed = try grid(2)
        // The headers are the plain images of each seed, the same in every grid and equal to `generate`'s.
        let generated = try sampler.generate(seeds: rows + columns, histograms: Array(repeating: Self.histogram, count: 5), truncation: 0.7)
        for (a, b) in zip(allColumn.rowImages + allColumn.columnImages, generated) { XCTAssertLessThan(difference(a, b), 1e-5) }
        XCTAssertEqual(mixed.rowImages, allColumn.rowImages)
        XCTAssertEqual(mixed.columnImages, allColumn.columnImages)
        XCTAssertEqual(mixed.cells.count, 3)
        XCTAssertTrue(mixed.cells.allSatisfy { $0.count == 2 })
        for i in rows.indices {
            for j in columns.indices {
                XCTAssertLessThan(difference(allColumn.cells[i][j], allColumn.columnImages[j]), 1e-5, "cutoff 0: cell (\(i), \(j)) is the column image")
                XCTAssertLessThan(difference(allRow.cells[i][j], allRow.rowImages[i]), 1e-5, "cutoff \(first): cell (\(i), \(j)) is the row image")
                let cell = mixed.cells[i][j]
                XCTAssertGreaterThan(difference(cell, mixed.rowImages[i]), 1e-3, "mixed cell (\(i), \(j)) differs from the row image")
                XCTAssertGreaterThan(difference(cell, mixed.columnImages[j]), 1e-3, "mixed cell (\(i), \(j)) differs from the column image")
            }
        }
    }

    func testStyleMixingRejectsABadCutoffNamingTheFlag() throws {
        let sampler = try sampler()
        for cutoff in [-1, 6] {
            XCTAssertThrowsError(try sampler.styleMixing(rowSeeds: [0], columnSeeds: [1], histogram: Self.histogram, cutoff: cutoff,
                                                         truncation: 1)) { error in
                XCTAssertTrue("\(error)".contains("--cutoff \(cutoff)") && "\(error)".contains("0...5"), "\(error)")
            }
        }
        XCTAssertEqual(sampler.mixingDescription(cutoff: 2), "layers 0-1 from the row seed, 2-4 from the column seed, 5-10 from the target histogram")
        XCTAssertEqual(sampler.mixingDescription(cutoff: 0), "layers 0-4 from the column seed, 5-10 from the target histogram")
    }

    func testStyleMixingGridFileHasTheNVlabsLayout() throws {
        let sampler = try sampler()
        let path = directory.appendingPathComponent("mix.png").path
        let target = ColorTarget(histogram: Self.histogram, image: nil, name: "test")
        let grid = try sampler.writeStyleMixingGrid(target: target, rowSeeds: [0, 1], columnSeeds: [2, 3, 4], cutoff: 3,
                                                    truncation: 1, to: path)
        let image = try ImageIO.read(path)
        // 4 columns and 3 rows of 32-pixel cells with 2-pixel gaps.
        XCTAssertEqual(image.width, 4 * 32 + 5 * 2)
        XCTAssertEqual(image.height, 3 * 32 + 4 * 2)
        // Cell (row 1, column 2) of the mixed block sits at grid position (2, 3).
        let cell = grid.cells[1][2], x0 = 2 + 3 * 34, y0 = 2 + 2 * 34
        var worst: Float = 0
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { worst = max(worst, abs(image[c, y0 + y, x0 + x] - cell[c, y, x])) } } }
        XCTAssertLessThanOrEqual(worst, 0.5 / 255 + 1e-6, "PNG holds the cell, 8-bit rounded")
    }

    func testInterpolationWritesFramesStripAndGIF() throws {
        let sampler = try sampler()
        let out = directory.appendingPathComponent("interp").path
        let other = Self.histogram.reversed().map { $0 }
        let animation = try InterpolationAnimation(path: out + "/animation.gif", fps: 8, bounce: true)
        XCTAssertEqual(animation.frameDelay, 13)
        let written = try sampler.interpolate(seeds: (0, 1), histograms: (Self.histogram, other), frames: 4, truncation: 0.7,
                                              to: out, animation: animation)
        XCTAssertEqual(written.frames.count, 4)
        XCTAssertTrue(written.frames.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        XCTAssertTrue(FileManager.default.fileExists(atPath: written.strip))
        let gif = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/animation.gif")))
        XCTAssertEqual(Array(gif.prefix(6)), Array("GIF89a".utf8))
        // 4 frames forward and 2 back: six image descriptors after graphic control extensions with delay 13.
        let controls = (0..<(gif.count - 8)).filter { gif[$0] == 0x21 && gif[$0 + 1] == 0xF9 && gif[$0 + 2] == 4 && gif[$0 + 7] == 0 && gif[$0 + 8] == 0x2C }
        XCTAssertEqual(controls.count, 6)
        XCTAssertTrue(controls.allSatisfy { gif[$0 + 4] == 13 && gif[$0 + 5] == 0 })
        XCTAssertEqual(gif[10] & 0x80, 0, "the two ends differ in colour: a colour table per frame, none global")

        let steady = try InterpolationAnimation(path: out + "/steady.gif", fps: 25)
        try sampler.interpolate(seeds: (0, 1), histograms: (Self.histogram, Self.histogram), frames: 3, truncation: 0.7,
                                to: out, animation: steady)
        let steadyGIF = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/steady.gif")))
        XCTAssertEqual(steadyGIF[10] & 0x80, 0x80, "one histogram: one global colour table")
        XCTAssertThrowsError(try InterpolationAnimation(path: "x.gif", fps: 60)) { XCTAssertTrue("\($0)".contains("--fps 60")) }
    }
}
