import Foundation
import TestSupport
import XCTest

/// Every OpenCL program variant of the full self-test, compiled by a second compiler (clang's NVPTX back end, through
/// `scripts/ptx-check.py`): it must build, and no kernel may keep a private array in per-thread local memory (DRAM
/// on NVIDIA; for the GEMM and conv accumulators, every FMA a memory access). Skipped without `clang-16`
/// (Debian's package, built with NVPTX); CI installs it, and there a missing compiler fails the test.
final class PTXCheckTests: XCTestCase {
    func testEveryProgramVariantCompilesForNVPTXWithoutLocalMemory() throws {
        guard let clang = executableOnPath("clang-16") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("clang-16 is not installed; .ci/run installs it (apt-get install clang-16)")
            }
            throw XCTSkip("clang-16 is not installed (apt-get install clang-16): the NVPTX compile check is skipped")
        }
        guard let python = executableOnPath("python3") else { throw XCTSkip("python3 is not installed") }
        _ = try TestBackends.requireOpenCL()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ptx-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The kernel cache stays on: the dump is written before the cache is asked.
        let selftest = try runHistogan(["selftest", "--device", "opencl"], environment: ["HISTOGAN_CL_DUMP_SOURCES": dir.path])
        XCTAssertEqual(selftest.status, 0, selftest.output)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/ptx-check.py")
        let check = try runProcess(python, [script.path, dir.path, "--clang", clang.path])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.output.contains(" 0 with errors or local-memory depots"), check.output)
        // The full self-test builds every family: the dump must hold them all.
        let families = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path).map { String($0.split(separator: "-")[0]) })
        for family in ["gemm", "conv2d", "winograd", "histogram", "optimizer", "upfirdn2d", "bias_act", "elementwise", "reduce",
                       "layout", "random", "modconv", "minibatch_stddev", "batch_norm", "log_softmax"] {
            XCTAssertTrue(families.contains(family), "no \(family) program was dumped: \(families.sorted())")
        }
    }
}
