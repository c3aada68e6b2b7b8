import Foundation
import TestSupport
import XCTest

/// The quick self-test's kernels under Oclgrind, an OpenCL device simulator that checks every access of every
/// work-item: reads and writes outside a buffer or a local or private array, API misuse, and data races between
/// work-items (a missing barrier). PoCL runs a work-group's items one after another, so such faults can pass there
/// and still break on a GPU. The device is given NVIDIA's limits (48 KiB of local memory, 1,024 items per group).
/// Skipped without `oclgrind` (Debian's package); CI installs it, and there a missing binary fails the test.
final class OclgrindTests: XCTestCase {
    func testQuickSelfTestIsCleanUnderOclgrind() throws {
        let oclgrind = try Self.requireOclgrind()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("oclgrind-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("oclgrind.log")
        let arguments = Self.oclgrindOptions(log: log) + [try histoganBinary().path, "selftest", "--device", "opencl:0", "--quick"]
        // Checked buffers: each exactly its size (a read one float past the end is a fault, not pool slack) and NaN
        // until written. No kernel cache: the simulator's binaries are LLVM bitcode of no use to another device.
        let run = try runProcess(oclgrind, arguments, environment: ["HISTOGAN_CL_CHECKED_BUFFERS": "1", "HISTOGAN_KERNEL_CACHE": "off"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("Oclgrind"), "not run on the simulator:\n\(run.output)")
        XCTAssertTrue(run.output.contains(" 0 failed"), run.output)
        let findings = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertEqual(findings.trimmingCharacters(in: .whitespacesAndNewlines), "",
                       "Oclgrind reported faults (first 4,000 characters):\n\(findings.prefix(4000))")
    }

    /// `oclgrind`'s checks and the device limits of the run; findings go to `log`.
    static func oclgrindOptions(log: URL) -> [String] {
        ["--check-api", "--data-races", "--max-errors", "200", "--local-mem-size", "49152", "--max-wgsize", "1024",
         "--global-mem-size", "1073741824", "--num-threads", "2", "--log", log.path]
    }

    static func requireOclgrind() throws -> URL {
        if let oclgrind = executableOnPath("oclgrind") { return oclgrind }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail("oclgrind is not installed; .ci/run installs it (apt-get install oclgrind)")
        }
        throw XCTSkip("oclgrind is not installed (apt-get install oclgrind): the kernel memory check is skipped")
    }
}
