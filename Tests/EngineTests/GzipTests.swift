import Engine
import TestSupport
import Foundation
import XCTest

/// IO/Gzip: round trip through the system `gzip` tool, plain files, and errors naming the path.
final class GzipTests: XCTestCase {
    func testReadsWhatGzipWrote() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = TestRNG(seed: 11)
        let bytes = (0..<3_000_000).map { i in UInt8(i % 251 == 0 ? Int(rng.next() % 256) : i % 7) }   // > one 1 MiB chunk
        let plain = dir.appendingPathComponent("data.bin")
        try Data(bytes).write(to: plain)
        XCTAssertEqual(try Gzip.read(plain.path), bytes, "an uncompressed file is read as is")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", plain.path]
        try gzip.run()
        gzip.waitUntilExit()
        XCTAssertEqual(gzip.terminationStatus, 0)
        XCTAssertLessThan(try Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz")).count, bytes.count / 4)
        XCTAssertEqual(try Gzip.read(plain.path + ".gz"), bytes)
        // A truncated stream is an error naming the file, not short data.
        let truncated = dir.appendingPathComponent("cut.gz")
        let gz = try Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz"))
        try gz.prefix(gz.count / 2).write(to: truncated)
        XCTAssertThrowsError(try Gzip.read(truncated.path)) { XCTAssertTrue("\($0)".contains(truncated.path), "\($0)") }
        XCTAssertThrowsError(try Gzip.read(dir.path + "/missing.gz")) { XCTAssertTrue("\($0)".contains("missing.gz"), "\($0)") }
    }
}
