import Engine
import HistoGAN
import TestSupport
import XCTest

/// `bench --only`: the family filter of `KernelBenchmark` (what runs, not how fast).
final class KernelBenchmarkTests: XCTestCase {
    func testOnlyRunsTheNamedFamilies() throws {
        let cpu = TestBackends.cpu
        let epilogue = try KernelBenchmark(backend: cpu, quick: true, minimumSeconds: 0.001, only: "Epilogue").run()
        XCTAssertEqual(epilogue.map(\.kernel), ["epilogue, 3 launches", "epilogue, 1 kernel",
                                                "conv+bias_act, 2 launches", "conv+bias_act, 1 kernel",
                                                "scale grad, 3 launches", "scale grad, 1 kernel"])
        XCTAssertEqual(epilogue.map(\.shape), ["4x32x32x32", "4x32x32x32", "4x32x16x16", "4x32x16x16", "4x32x32x32", "4x32x32x32"])
        let biasAct = try KernelBenchmark(backend: cpu, quick: true, minimumSeconds: 0.001, only: "bias_act").run()
        XCTAssertEqual(biasAct.map(\.kernel), ["bias_act lrelu"])
        // Every family name selects itself; a filter leaves the other families out.
        for family in KernelBenchmark.families {
            XCTAssertTrue(KernelBenchmark(backend: cpu, only: family).runs(family), family)
        }
        XCTAssertFalse(KernelBenchmark(backend: cpu, only: "epilogue").runs("gemm"))
        // Comma-separated texts select each family that any of them names.
        let several = KernelBenchmark(backend: cpu, only: "gemm, conv3x3")
        XCTAssertEqual(KernelBenchmark.families.filter(several.runs), ["gemm", "conv3x3 grad", "conv3x3 stride-2"])
        let strided = try KernelBenchmark(backend: cpu, quick: true, minimumSeconds: 0.001, only: "stride-2").run()
        XCTAssertEqual(strided.map(\.kernel), ["conv3x3 stride-2 fwd", "conv3x3 stride-2 grad-input", "conv3x3 stride-2 grad-weight"])
        XCTAssertEqual(strided.map(\.shape), Array(repeating: "4x32x33x33", count: 3))
    }
}
