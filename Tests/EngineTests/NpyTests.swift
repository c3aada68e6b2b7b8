import Engine
import TestSupport
import Foundation
import XCTest

/// Engine/ImageIO/NumPyFile: `.npy` v1.0 files that NumPy loads with the same shape and values, and
/// files NumPy saved that the reader loads.
final class NpyTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Runs `python3 -c script`, returning stdout, or skips the test when NumPy is unavailable.
    func python(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw XCTSkip("python3 is not available") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("python3 -c 'import numpy' failed") }
        return String(decoding: data, as: UTF8.self)
    }

    func testHeaderIsPaddedTo64Bytes() throws {
        for shape in [[], [5], [2, 3, 64, 64], [1, 3, 7, 7]] {
            let bytes = NumPyFile.encode(try NumPyArray(shape: shape, values: [Float](repeating: 1, count: shape.reduce(1, *))))
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0, "\(shape)")
            XCTAssertEqual(bytes[10 + headerLength - 1], UInt8(ascii: "\n"))
            XCTAssertEqual(bytes.count, 10 + headerLength + 4 * shape.reduce(1, *))
        }
    }

    /// Files we write load in NumPy with the same shape, dtype float32 and bit-identical values.
    func testNumPyLoadsWhatWeWrite() throws {
        var rng = TestRNG(seed: 11)
        for shape in [[2, 3, 4, 5], [7], [1, 3, 2, 2]] {
            var values = rng.floats(shape.reduce(1, *), -1e3, 1e3)
            values[0] = -0.0; values[values.count - 1] = .leastNonzeroMagnitude
            let path = directory.appendingPathComponent("a\(shape.count).npy").path
            try NumPyFile.write(try NumPyArray(shape: shape, values: values), to: path)
            let out = try python("""
            import numpy; a = numpy.load(\"\(path)\"); print(a.shape, a.dtype)
            print(' '.join(v.hex() for v in a.astype('float64').ravel()))
            """).split(separator: "\n")
            let tuple = shape.count == 1 ? "(\(shape[0]),)" : "(\(shape.map(String.init).joined(separator: ", ")))"
            XCTAssertEqual(String(out[0]), "\(tuple) float32")
            let loaded = out[1].split(separator: " ").map { Float(Double(String($0))!) }
            XCTAssertEqual(loaded.map(\.bitPattern), values.map(\.bitPattern), "\(shape)")
        }
    }

    /// Files NumPy saves (float32 and float64, several shapes) read back with the same values.
    func testWeReadWhatNumPyWrites() throws {
        let f4 = directory.appendingPathComponent("f4.npy").path, f8 = directory.appendingPathComponent("f8.npy").path
        _ = try python("""
        import numpy
        numpy.save(\"\(f4)\", (numpy.arange(24, dtype='float32').reshape(2, 3, 4) - 5.5) / 3)
        numpy.save(\"\(f8)\", numpy.linspace(-3, 3, 7))
        """)
        let a = try NumPyFile.read(f4)
        XCTAssertEqual(a.shape, [2, 3, 4])
        XCTAssertEqual(a.values, (0..<24).map { (Float($0) - 5.5) / 3 })
        let b = try NumPyFile.read(f8)
        XCTAssertEqual(b.shape, [7])
        XCTAssertEqual(b.values, [-3, -2, -1, 0, 1, 2, 3])
    }

    func testRoundTripAndBadFiles() throws {
        let array = try NumPyArray(shape: [2, 2], values: [1, -2, 3.5, 4])
        XCTAssertEqual(try NumPyFile.decode(NumPyFile.encode(array), name: "x"), array)
        let text = directory.appendingPathComponent("text.npy").path
        try Data("not numpy".utf8).write(to: URL(fileURLWithPath: text))
        let truncated = directory.appendingPathComponent("short.npy").path
        try Data(NumPyFile.encode(array).dropLast(3)).write(to: URL(fileURLWithPath: truncated))
        for path in [text, truncated, directory.path, directory.appendingPathComponent("none.npy").path] {
            XCTAssertThrowsError(try NumPyFile.read(path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        }
        XCTAssertThrowsError(try NumPyArray(shape: [3], values: [1, 2]))
    }
}
