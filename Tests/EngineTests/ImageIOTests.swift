import Engine
import TestSupport
import Foundation
import XCTest

/// Engine/ImageIO: PNG (every colour type, 8 and 16 bit) and JPEG decoding, PNG writing, grids,
/// tensor conversion, and a corpus of bad files that must fail with an error naming the file.
final class ImageIOTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("imageio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Asserts `image` equals `want` (planar `[3, h, w]`) within `tolerance` everywhere.
    func assertPixels(_ image: Image, _ want: [Double], width: Int, height: Int, tolerance: Double, _ what: String,
                      line: UInt = #line) {
        XCTAssertEqual(image.width, width, what, line: line)
        XCTAssertEqual(image.height, height, what, line: line)
        let worst = zip(image.pixels, want).map { abs(Double($0) - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): worst difference \(worst)", line: line)
    }

    /// Random interleaved RGBA samples of `count` pixels with maximum `top`, and the planar values a
    /// decoder must produce for each PNG colour type built from them (alpha composited on white).
    struct Samples {
        let rgba: [Int]
        let top: Double
        var count: Int { rgba.count / 4 }

        init(count: Int, top: Int, seed: UInt64) {
            var rng = TestRNG(seed: seed)
            rgba = (0..<(4 * count)).map { _ in Int(rng.next() % UInt64(top + 1)) }
            self.top = Double(top)
        }

        func value(_ i: Int, _ c: Int) -> Double { Double(rgba[4 * i + c]) / top }
        var rgb: [Int] { (0..<count).flatMap { i -> [Int] in [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]] } }
        var grey: [Int] { (0..<count).map { rgba[4 * $0] } }
        var greyAlpha: [Int] { (0..<count).flatMap { i -> [Int] in [rgba[4 * i], rgba[4 * i + 3]] } }

        /// Planar `[3, count]` expectation; `colour` false reads channel 0 as grey, `alpha` false means opaque.
        func expected(colour: Bool, alpha: Bool) -> [Double] {
            var out: [Double] = []
            for c in 0..<3 {
                for i in 0..<count {
                    let v = value(i, colour ? c : 0), a = alpha ? value(i, 3) : 1
                    out.append(v * a + (1 - a))
                }
            }
            return out
        }
    }

    // MARK: - PNG colour types

    func testEightBitColourTypesDecode() throws {
        let (w, h) = (3, 2)
        let s = Samples(count: w * h, top: 255, seed: 7)
        let palette = s.rgb.map { UInt8($0) }, alphas = (0..<s.count).map { UInt8(s.rgba[4 * $0 + 3]) }
        let cases: [(String, Fixtures.ColourType, [Int], [Double])] = [
            ("rgb", .rgb, s.rgb, s.expected(colour: true, alpha: false)),
            ("rgba", .rgba, s.rgba, s.expected(colour: true, alpha: true)),
            ("grey", .grey, s.grey, s.expected(colour: false, alpha: false)),
            ("grey+alpha", .greyAlpha, s.greyAlpha, s.expected(colour: false, alpha: true)),
            ("palette", .palette, Array(0..<s.count), s.expected(colour: true, alpha: true)),
        ]
        for (name, type, samples, want) in cases {
            let bytes = Fixtures.png(width: w, height: h, colour: type, bitDepth: 8, samples: samples,
                                     palette: type == .palette ? palette : [], transparency: type == .palette ? alphas : [])
            let image = try ImageIO.decode(bytes, name: name)
            assertPixels(image, want, width: w, height: h, tolerance: 1e-6, "8-bit \(name)")
        }
    }

    /// 16-bit files keep more than 8 bits of precision (values v/65535, alpha composited on white).
    func testSixteenBitColourTypesDecode() throws {
        let (w, h) = (4, 3)
        let s = Samples(count: w * h, top: 65535, seed: 8)
        let cases: [(String, Fixtures.ColourType, [Int], [Double], Double)] = [
            ("rgb", .rgb, s.rgb, s.expected(colour: true, alpha: false), 1e-6),
            ("grey", .grey, s.grey, s.expected(colour: false, alpha: false), 1e-6),
            ("grey+alpha", .greyAlpha, s.greyAlpha, s.expected(colour: false, alpha: true), 2e-5),
            ("rgba", .rgba, s.rgba, s.expected(colour: true, alpha: true), 2e-5),
        ]
        for (name, type, samples, want, tolerance) in cases {
            let image = try ImageIO.decode(Fixtures.png(width: w, height: h, colour: type, bitDepth: 16, samples: samples), name: name)
            assertPixels(image, want, width: w, height: h, tolerance: tolerance, "16-bit \(name)")
        }
        // With a colour-space chunk libpng converts to 8-bit sRGB: same values within 8-bit rounding.
        let tagged = Fixtures.png(width: w, height: h, colour: .rgb, bitDepth: 16, samples: s.rgb, sRGB: true)
        assertPixels(try ImageIO.decode(tagged, name: "tagged"), s.expected(colour: true, alpha: false), width: w, height: h,
                     tolerance: 0.5 / 255 + 1e-6, "16-bit rgb with sRGB chunk")
    }

    // MARK: - Writing, JPEG, grids, tensors

    func testPNGWriteReadRoundTrip() throws {
        var rng = TestRNG(seed: 9)
        let image = try Image(width: 5, height: 4, pixels: rng.floats(60, -0.2, 1.2))
        let path = directory.appendingPathComponent("out.png").path
        try ImageIO.writePNG(image, to: path)
        let back = try ImageIO.read(path)
        let want = image.pixels.map { (Double(min(max($0, 0), 1)) * 255).rounded() / 255 }
        assertPixels(back, want, width: 5, height: 4, tolerance: 1e-6, "PNG round trip")
        XCTAssertThrowsError(try ImageIO.writePNG(image, to: directory.appendingPathComponent("no/such/dir.png").path)) {
            XCTAssertTrue("\($0)".contains("no/such/dir.png"), "\($0)")
        }
    }

    func testJPEGDecodesColourAndGrey() throws {
        let (w, h) = (16, 8)
        var rgb: [UInt8] = []
        for y in 0..<h { for x in 0..<w { rgb += [UInt8(x * 15), UInt8(y * 30), 128] } }
        let colour = try ImageIO.read(try file("c.jpg", Fixtures.jpeg(width: w, height: h, rgb: rgb)))
        let want = (0..<3).flatMap { c in (0..<(w * h)).map { Double(rgb[3 * $0 + c]) / 255 } }
        assertPixels(colour, want, width: w, height: h, tolerance: 4.0 / 255, "JPEG colour")
        let greyValues = (0..<(w * h)).map { UInt8($0 % 200) }
        let grey = try ImageIO.read(try file("g.jpg", Fixtures.jpeg(width: w, height: h, rgb: greyValues, grey: true)))
        let wantGrey = (0..<3).flatMap { _ in greyValues.map { Double($0) / 255 } }
        assertPixels(grey, wantGrey, width: w, height: h, tolerance: 3.0 / 255, "JPEG grey")
    }

    func testGridLayoutAndTensorConversion() throws {
        let a = try Image(width: 3, height: 2, fill: (1, 0, 0)), b = try Image(width: 3, height: 2, fill: (0, 1, 0))
        let c = try Image(width: 3, height: 2, fill: (0, 0, 1))
        let grid = try Image.grid([a, b, c], columns: 2, gap: 1, background: 0.5)
        XCTAssertEqual([grid.width, grid.height], [2 * 3 + 3, 2 * 2 + 3])
        XCTAssertEqual(grid[0, 1, 1], 1); XCTAssertEqual(grid[1, 1, 5], 1); XCTAssertEqual(grid[2, 4, 1], 1)
        XCTAssertEqual(grid[0, 0, 0], 0.5); XCTAssertEqual(grid[1, 4, 6], 0.5)
        XCTAssertThrowsError(try Image.grid([a, try Image(width: 2, height: 2, fill: (0, 0, 0))], columns: 2))
        let batch = try Image.tensor([a, c], on: TestBackends.cpu)
        XCTAssertEqual(batch.shape, [2, 3, 2, 3])
        XCTAssertEqual(try Image(batch, index: 1), c)
    }

    // MARK: - Bad files

    /// Every bad input throws an `ImageIOError` whose text names the file; nothing crashes.
    func testBadFileCorpusGivesNamedErrors() throws {
        let good = Fixtures.png(width: 8, height: 8, colour: .rgb, bitDepth: 8, samples: (0..<192).map { $0 })
        var badCRC = good
        badCRC[29] ^= 0xFF  // inside IHDR's CRC (8 signature + 4 length + 4 type + 13 data = byte 29)
        var badIDAT = good
        badIDAT[good.count - 20] ^= 0x55  // inside the IDAT chunk's data or CRC
        var huge = good  // IHDR claims 100000 x 100000 pixels
        huge.replaceSubrange(16..<24, with: Fixtures.be32(100_000) + Fixtures.be32(100_000))
        huge.replaceSubrange(29..<33, with: Fixtures.be32(Int(Fixtures.crc32(Array(huge[12..<29])))))
        let jpeg = Fixtures.jpeg(width: 32, height: 32, rgb: (0..<(32 * 32 * 3)).map { UInt8($0 % 251) })
        let corpus: [(String, [UInt8]?)] = [
            ("empty.png", []), ("text.png", Array("hello, not an image\n".utf8)),
            ("truncated.png", Array(good.prefix(good.count / 2))), ("header-only.png", Array(good.prefix(20))),
            ("badcrc.png", badCRC), ("badidat.png", badIDAT), ("huge.png", huge),
            ("truncated.jpg", Array(jpeg.prefix(jpeg.count / 2))), ("header-only.jpg", Array(jpeg.prefix(4))),
        ]
        var paths = try corpus.map { try file($0.0, $0.1!) }
        paths.append(directory.path)
        paths.append(directory.appendingPathComponent("missing.png").path)
        for path in paths {
            XCTAssertThrowsError(try ImageIO.read(path), path) { error in
                XCTAssertTrue(error is ImageIOError, "\(path): \(type(of: error))")
                XCTAssertTrue("\(error)".contains(path), "error does not name the file: \(error)")
            }
        }
        XCTAssertEqual(try? ImageIO.read(try file("good.png", good)).width, 8)
        XCTAssertThrowsError(try ImageIO.read(directory.path)) { XCTAssertEqual($0 as? ImageIOError, .unreadable(path: directory.path, reason: "is a directory")) }
        XCTAssertThrowsError(try ImageIO.read(paths[0])) { XCTAssertEqual($0 as? ImageIOError, .empty(path: paths[0])) }
        XCTAssertThrowsError(try ImageIO.read(paths[1])) { XCTAssertEqual($0 as? ImageIOError, .unsupportedFormat(path: paths[1])) }
    }
}
