import Engine
import Foundation
import XCTest

/// Engine/ImageIO GIF writer: LZW round trips on edge cases, and whole animations decoded by the test's own
/// decoder (`DecodedGIF`): sizes, frame count, delays, looping, and pixels equal to the palette-mapped input.
final class GIFTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gif-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A `width × height` image with colour `f(x, y)`.
    func image(_ width: Int, _ height: Int, _ f: (Int, Int) -> (Float, Float, Float)) throws -> Image {
        var out = try Image(width: width, height: height, fill: (0, 0, 0))
        for y in 0..<height {
            for x in 0..<width {
                let c = f(x, y)
                out[0, y, x] = c.0; out[1, y, x] = c.1; out[2, y, x] = c.2
            }
        }
        return out
    }

    /// Smooth colour fields that move with `t`, like interpolation frames.
    func smoothFrames(_ count: Int, width: Int, height: Int) throws -> [Image] {
        try (0..<count).map { k in
            let t = Float(k) / Float(max(1, count - 1))
            return try image(width, height) { x, y in
                let u = Float(x) / Float(width - 1), v = Float(y) / Float(height - 1)
                return (0.2 + 0.6 * u * (1 - t) + 0.2 * t, 0.5 + 0.4 * sin(3 * v + 2 * t), 0.9 - 0.7 * u * v)
            }
        }
    }

    // MARK: - LZW

    func assertRoundTrip(_ indices: [UInt8], minimumCodeSize: Int, minClears: Int = 1, _ what: String,
                         line: UInt = #line) throws {
        let stream = GIFLZW.encode(indices, minimumCodeSize: minimumCodeSize)
        let (decoded, clears) = try DecodedGIF.lzwDecode(stream, minimumCodeSize: minimumCodeSize)
        XCTAssertEqual(decoded.count, indices.count, what, line: line)
        XCTAssertTrue(decoded == indices, "\(what): first difference at \(decoded.indices.first { $0 >= indices.count || decoded[$0] != indices[$0] } ?? -1)", line: line)
        XCTAssertGreaterThanOrEqual(clears, minClears, "\(what): clear codes", line: line)
    }

    func testLZWRoundTripsEdgeCases() throws {
        try assertRoundTrip([], minimumCodeSize: 2, "no pixels")
        try assertRoundTrip([3], minimumCodeSize: 2, "one pixel, 2-bit")
        try assertRoundTrip([255], minimumCodeSize: 8, "one pixel, 8-bit")
        try assertRoundTrip([1, 1], minimumCodeSize: 2, "two equal pixels")
        try assertRoundTrip([UInt8](repeating: 7, count: 100_000), minimumCodeSize: 8, "all the same colour (KwKwK strings)")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        // Random 8-bit indices: nearly every index adds a code, so 20000 of them fill the 4096-entry table
        // several times over and force resets (clear codes beyond the first).
        try assertRoundTrip((0..<20_000).map { _ in random() }, minimumCodeSize: 8, minClears: 4, "random 8-bit, table resets")
        try assertRoundTrip((0..<60_000).map { _ in random() & 3 }, minimumCodeSize: 2, minClears: 2, "random 2-bit, table resets")
        // Lengths around each width change (codes 8, 16, …, 4096 with a 2-bit alphabet).
        for n in [5, 6, 7, 8, 9, 15, 16, 17, 300, 4095, 4096, 4097] {
            try assertRoundTrip((0..<n).map { _ in random() & 3 }, minimumCodeSize: 2, "random 2-bit, \(n) pixels")
        }
        try assertRoundTrip((0..<30_000).map { UInt8(($0 / 7) % 256) }, minimumCodeSize: 8, "runs of 7")
    }

    func testBayerMatrixIsTheStandardOne() {
        XCTAssertEqual(Set(GIFPalette.bayer8), Set(0..<64))
        XCTAssertEqual(Array(GIFPalette.bayer8.prefix(8)), [0, 32, 8, 40, 2, 34, 10, 42])
        XCTAssertEqual(Array(GIFPalette.bayer8[8..<16]), [48, 16, 56, 24, 50, 18, 58, 26])
    }

    // MARK: - Files

    func testAnimationWithGlobalPaletteDecodesToThePaletteMappedInput() throws {
        let frames = try smoothFrames(4, width: 37, height: 23)
        let path = directory.appendingPathComponent("a.gif").path
        try GIFWriter.write(frames, delays: [5, 10, 0, 65535], to: path)
        let gif = try DecodedGIF([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(gif.width, 37)
        XCTAssertEqual(gif.height, 23)
        XCTAssertEqual(gif.loopCount, 0)
        XCTAssertEqual(gif.frames.count, 4)
        XCTAssertEqual(gif.frames.map(\.delay), [5, 10, 0, 65535])
        XCTAssertEqual(gif.globalTable?.count, 3 * 256)

        let palette = try GIFPalette.medianCut(frames)
        XCTAssertEqual(palette.count, 256, "smooth frames have more than 256 colours")
        XCTAssertGreaterThan(palette.ditherStep, 0)
        for (k, (frame, decoded)) in zip(frames, gif.frames).enumerated() {
            XCTAssertEqual(decoded.width, 37); XCTAssertEqual(decoded.height, 23)
            let want = palette.indices(for: frame)
            XCTAssertEqual(decoded.indices, want, "frame \(k) indices")
            XCTAssertEqual(decoded.rgb, want.flatMap { Array(palette.rgb[(3 * Int($0))..<(3 * Int($0) + 3)]) }, "frame \(k) colours")
            // Dithered colours stay close to the input: a mean absolute error of a few 8-bit levels (measured 4.3-4.7;
            // undithered 3.3, but with larger errors in 4x4-pixel averages, which dithering reduces).
            let input = frame.rgb8()
            let mae = zip(decoded.rgb, input).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(input.count)
            XCTAssertLessThan(mae, 6, "frame \(k) mean absolute error")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(".a.gif.tmp-\(getpid())").path))
    }

    func testPerFramePalettesWithoutDitheringPickTheNearestColour() throws {
        let frames = try smoothFrames(2, width: 20, height: 17)
        let bytes = try GIFWriter.encode(frames, delays: [7], options: GIFOptions(palette: .perFrame, dither: false, loopCount: 3))
        let gif = try DecodedGIF(bytes)
        XCTAssertNil(gif.globalTable)
        XCTAssertEqual(gif.loopCount, 3)
        XCTAssertEqual(gif.frames.map(\.delay), [7, 7])
        for (k, (frame, decoded)) in zip(frames, gif.frames).enumerated() {
            let input = frame.rgb8(), table = decoded.table, got = decoded.rgb
            func distance(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
                zip(a, b).reduce(0) { $0 + (Int($1.0) - Int($1.1)) * (Int($1.0) - Int($1.1)) }
            }
            for i in 0..<(frame.width * frame.height) {
                let pixel = input[(3 * i)..<(3 * i + 3)]
                let best = (0..<(table.count / 3)).map { distance(pixel, table[(3 * $0)..<(3 * $0 + 3)]) }.min()!
                XCTAssertEqual(distance(pixel, got[(3 * i)..<(3 * i + 3)]), best, "frame \(k) pixel \(i) is not mapped to a nearest entry")
            }
        }
    }

    func testFewColoursAreLosslessAndOneColourWorks() throws {
        let colours: [(Float, Float, Float)] = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1), (0.2, 0.4, 0.6)]
        let few = try image(31, 9) { x, y in colours[(x + 2 * y) % 5] }
        let gif = try DecodedGIF(try GIFWriter.encode([few, few], delays: [4]))
        XCTAssertEqual(gif.globalTable?.count, 3 * 8, "5 colours in a table of 8")
        for frame in gif.frames { XCTAssertEqual(frame.rgb, few.rgb8(), "exact colours come back unchanged") }

        let flat = try Image(width: 64, height: 64, fill: (0.3, 0.5, 0.7))
        let palette = try GIFPalette.medianCut([flat])
        XCTAssertEqual(palette.count, 1)
        XCTAssertEqual(palette.ditherStep, 0)
        let one = try DecodedGIF(try GIFWriter.encode([flat], delays: [0]))
        XCTAssertEqual(one.globalTable?.count, 3 * 2, "smallest GIF table")
        XCTAssertEqual(one.frames.first?.rgb, flat.rgb8())

        let pixel = try Image(width: 1, height: 1, fill: (0.9, 0.1, 0.5))
        let tiny = try DecodedGIF(try GIFWriter.encode([pixel], delays: [1]))
        XCTAssertEqual(tiny.width, 1); XCTAssertEqual(tiny.height, 1)
        XCTAssertEqual(tiny.frames.first?.rgb, pixel.rgb8())
    }

    func testErrorsNameTheFile() throws {
        let a = try Image(width: 4, height: 4, fill: (0, 0, 0)), b = try Image(width: 5, height: 4, fill: (0, 0, 0))
        let missing = directory.appendingPathComponent("no/such/dir/x.gif").path
        let cases: [(String, () throws -> Void)] = [
            ("sizes", { try GIFWriter.write([a, b], delays: [1], to: self.directory.appendingPathComponent("s.gif").path) }),
            ("no frames", { try GIFWriter.write([], delays: [1], to: self.directory.appendingPathComponent("n.gif").path) }),
            ("delays", { try GIFWriter.write([a, a, a], delays: [1, 2], to: self.directory.appendingPathComponent("d.gif").path) }),
            ("delay range", { try GIFWriter.write([a], delays: [70000], to: self.directory.appendingPathComponent("r.gif").path) }),
            ("directory", { try GIFWriter.write([a], delays: [1], to: missing) }),
        ]
        for (what, body) in cases {
            XCTAssertThrowsError(try body(), what) { error in
                guard case ImageIOError.writeFailed(let path, _) = error else { return XCTFail("\(what): \(error)") }
                XCTAssertTrue("\(error)".contains(path) && path.hasSuffix(".gif"), "\(what): \(error)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "nothing written on failure")
    }
}
