import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// HistoGAN/SelfTest: every case passes on the OpenCL device (PoCL here), the checker reports a perturbed or
/// unwritten output as a failure, the report survives JSON, and `selftest` with only the CPU exits 0.
final class SelfTestTests: XCTestCase {
    /// The full self-test on the first OpenCL device against the CPU backend.
    func testEveryCasePassesOnOpenCL() throws {
        let cl = try TestBackends.requireOpenCL()
        let report = SelfTest(device: cl, reference: TestBackends.cpu).run()
        for r in report.cases where !r.passed {
            XCTFail("\(r.family) \(r.shape): relative L2 \(r.relativeError) > \(r.tolerance) \(r.error ?? "")")
        }
        XCTAssertEqual(report.cases.count, SelfTest.cases.count)
        XCTAssertEqual(report.passed, report.cases.count)
        XCTAssertTrue(report.allPassed)
        XCTAssertEqual(report.device, cl.info.selector)
        // Every .cl family is covered.
        let families = Set(report.cases.map { $0.family.split(separator: " ").first.map(String.init) ?? "" })
        for family in ["gemm", "conv2d", "modconv", "upfirdn2d", "bias_act", "elementwise", "reduce", "layout", "random",
                       "adam", "ema", "histogram", "minibatch_stddev"] {
            XCTAssertTrue(families.contains(family), "no \(family) case")
        }
    }

    /// `--quick` keeps a subset that still touches every family.
    func testQuickSubset() {
        let quick = SelfTest(device: TestBackends.cpu, reference: TestBackends.cpu, quick: true).cases
        XCTAssertLessThan(quick.count, SelfTest.cases.count)
        let all = Set(SelfTest.cases.map { $0.family.split(separator: " ")[0] })
        XCTAssertEqual(Set(quick.map { $0.family.split(separator: " ")[0] }), all)
    }

    /// A case whose device output is off by 1e-3 relative, one that leaves an element unwritten (NaN), one
    /// that throws and one with a missing output all fail; the identical one passes.
    func testCheckerReportsFailures() throws {
        let reference = TestBackends.cpu
        let device: any Backend = CPUBackend()        // a second instance: `===` tells the two apart
        @Sendable func isDevice(_ ctx: SelfTestContext) -> Bool { ctx.backend === device }
        let exact = SelfTestCase(family: "fill", shape: "17") { ctx in
            let out = try ctx.poisoned(17)
            try ctx.backend.fill(out, count: 17, value: 2)
            return try ctx.read(out)
        }
        let perturbed = SelfTestCase(family: "perturbed", shape: "17", tolerance: 1e-4) { ctx in
            let x = try ctx.input(17, seed: 1)
            if isDevice(ctx) { try ctx.backend.unary(.scale(1.001), x, x, count: 17) }
            return try ctx.read(x)
        }
        let unwritten = SelfTestCase(family: "unwritten", shape: "17") { ctx in
            let out = try ctx.poisoned(17)
            try ctx.backend.fill(out, count: isDevice(ctx) ? 16 : 17, value: 1)
            return try ctx.read(out)
        }
        let throwing = SelfTestCase(family: "throwing", shape: "bad") { ctx in
            if isDevice(ctx) { throw EngineError.shapeMismatch(op: "selftest", detail: "injected") }
            return [[1]]
        }
        let missing = SelfTestCase(family: "missing", shape: "1") { ctx in isDevice(ctx) ? [] : [[1]] }
        let report = SelfTest(device: device, reference: reference, cases: [exact, perturbed, unwritten, throwing, missing]).run()
        XCTAssertEqual(report.cases.map(\.passed), [true, false, false, false, false])
        XCTAssertEqual(report.cases[0].relativeError, 0)
        XCTAssertEqual(report.cases[1].relativeError, 1e-3, accuracy: 1e-5)
        XCTAssertEqual(report.cases[2].relativeError, .infinity)
        XCTAssertTrue(report.cases[3].error?.contains("injected") == true, "\(report.cases[3])")
        XCTAssertNotNil(report.cases[4].error)
        XCTAssertEqual(report.passed, 1)
        XCTAssertEqual(report.failed, 4)
        XCTAssertFalse(report.allPassed)
    }

    func testRelativeL2() {
        XCTAssertEqual(SelfTest.relativeL2([0, 0], [0, 0]), 0)
        XCTAssertEqual(SelfTest.relativeL2([3, 4], [0, 0]), .infinity)
        XCTAssertEqual(SelfTest.relativeL2([1, 1], [1]), .infinity)
        XCTAssertEqual(SelfTest.relativeL2([.nan], [1]), .infinity)
        XCTAssertEqual(SelfTest.relativeL2([3, 4.5], [3, 4]), 0.1, accuracy: 1e-12)
    }

    /// The report, infinite errors included, is read back equal.
    func testJSONRoundTrip() throws {
        let cases = [
            SelfTestResult(family: "gemm", shape: "17x33x65 NN", relativeError: 3.2e-7, tolerance: 1e-5, passed: true,
                           error: nil, milliseconds: 1.5),
            SelfTestResult(family: "histogram bwd", shape: "[1,3,13,11]", relativeError: .infinity, tolerance: 2e-5, passed: false,
                           error: "clBuildProgram failed", milliseconds: 0),
        ]
        let report = SelfTestReport(device: "opencl:0", deviceName: "pthread-cpu", reference: "cpu", cases: cases, seconds: 2.5)
        XCTAssertEqual(report.passed, 1)
        XCTAssertEqual(report.failed, 1)
        let data = try report.jsonData()
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"inf\""))
        XCTAssertEqual(try SelfTestReport(json: data), report)
    }

    /// The built binary: `selftest --device cpu` has nothing to compare and exits 0 saying so.
    func testCommandLineCPUOnly() throws {
        let (status, text) = try runHistogan(["selftest", "--device", "cpu"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("nothing to compare"), text)
    }

    /// `selftest --tf32` through the binary: with the tensor cores emulated (`HISTOGAN_TF32_EMULATE=1`) the quick TF32
    /// cases run after the fp32 ones and the report names the arithmetic; without them (PoCL has no tensor cores) it
    /// says why and stops there, exit 0 both times.
    func testCommandLineTF32() throws {
        _ = try TestBackends.requireOpenCL()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("selftest-tf32-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("report.json").path
        let quickCount = SelfTest.cases.filter(\.quick).count
        let quickTF32 = SelfTest.tf32Cases.filter(\.quick)

        let (status, text) = try runHistogan(["selftest", "--device", "opencl", "--tf32", "--quick", "--json", json],
                                             environment: ["HISTOGAN_TF32_EMULATE": "1"])
        XCTAssertEqual(status, 0, text)
        let report = try SelfTestReport(json: Data(contentsOf: URL(fileURLWithPath: json)))
        XCTAssertEqual(report.tf32, "tf32-emulated")
        XCTAssertEqual(report.cases.count, quickCount + quickTF32.count)
        XCTAssertEqual(report.cases.filter { $0.family.hasSuffix("tf32") }.count, quickTF32.count)
        XCTAssertTrue(report.allPassed, text)

        let (plainStatus, plain) = try runHistogan(["selftest", "--device", "opencl", "--tf32", "--quick", "--json", json])
        XCTAssertEqual(plainStatus, 0, plain)
        XCTAssertTrue(plain.contains("tf32: not checked") && plain.contains("stay fp32"), plain)
        let fallback = try SelfTestReport(json: Data(contentsOf: URL(fileURLWithPath: json)))
        XCTAssertTrue(fallback.tf32?.hasPrefix("unavailable") ?? false, fallback.tf32 ?? "nil")
        XCTAssertEqual(fallback.cases.count, quickCount)
    }
}
