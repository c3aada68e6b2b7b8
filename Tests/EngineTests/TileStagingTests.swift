import Engine
import TestSupport
import Foundation
import XCTest

/// Local-memory staging of gemm.cl and conv2d.cl (`TileStaging`): when `-D DOUBLE_BUFFER` is set, the setting's
/// parsing, and the single-buffered kernels (the fallback, and what a device with little local memory runs)
/// against float64 references and bit for bit against the default double-buffered ones on the same device.
final class TileStagingTests: XCTestCase {
    /// A second OpenCL backend on the first device, single-buffered, without a tuning table.
    static let single: OpenCLBackend? = {
        if ProcessInfo.processInfo.environment["HISTOGAN_TEST_NO_OPENCL"] != nil { return nil }
        guard let first = OpenCLDiscovery.devices().first else { return nil }
        return try? OpenCLBackend(device: first, tuning: .off, staging: .single)
    }()

    func testStagingFromEnvironment() throws {
        XCTAssertEqual(try TileStaging.fromEnvironment([:]), .double)
        XCTAssertEqual(try TileStaging.fromEnvironment(["HISTOGAN_TILE_STAGING": "single"]), .single)
        XCTAssertEqual(try TileStaging.fromEnvironment(["HISTOGAN_TILE_STAGING": "Double"]), .double)
        XCTAssertThrowsError(try TileStaging.fromEnvironment(["HISTOGAN_TILE_STAGING": "triple"])) { error in
            XCTAssertEqual("\(error)", "HISTOGAN_TILE_STAGING=triple: expected single or double")
        }
    }

    /// Hand-worked local memory: a 128×128 conv tile with TK 16 stages 16·(132 + 132)·4 = 16,896 bytes; two fit
    /// NVIDIA's 48 KiB but not the 32 KiB OpenCL guarantees. The 64×256 tile stages 16·(68 + 260)·4 = 20,992.
    func testDoubleBufferOnlyWhereTwoTilesFit() {
        XCTAssertEqual(ConvTile.large.stagedBytes, 16_896)
        XCTAssertEqual(ConvTile.wide.stagedBytes, 20_992)
        XCTAssertEqual(GemmTile(tm: 8, tn: 8).stagedBytes, 16_896)
        XCTAssertEqual(GemmTile(tm: 4, tn: 8).stagedBytes, 16 * (68 + 132) * 4)
        XCTAssertEqual(TileStaging.double.option(tileBytes: 16_896, localMemory: 49_152), " -D DOUBLE_BUFFER")
        XCTAssertEqual(TileStaging.double.option(tileBytes: 16_896, localMemory: 32_768), "")
        XCTAssertEqual(TileStaging.double.option(tileBytes: 16_384, localMemory: 32_768), " -D DOUBLE_BUFFER")
        XCTAssertEqual(TileStaging.single.option(tileBytes: 1_024, localMemory: 49_152), "")
    }

    /// `-D VEC_LOADS` needs every operand's contiguous extent, offset and (batched) stride to be a multiple of 4.
    func testGemmVectorLoadCondition() {
        XCTAssertTrue(OpenCLBackend.gemmVectorLoads(GemmShape(m: 37, n: 68, k: 36)))                     // K, N
        XCTAssertFalse(OpenCLBackend.gemmVectorLoads(GemmShape(m: 36, n: 68, k: 37)))                    // K of A
        XCTAssertFalse(OpenCLBackend.gemmVectorLoads(GemmShape(m: 36, n: 67, k: 36)))                    // N of B
        XCTAssertTrue(OpenCLBackend.gemmVectorLoads(GemmShape(m: 36, n: 20, k: 23, transA: true)))       // M, N
        XCTAssertFalse(OpenCLBackend.gemmVectorLoads(GemmShape(m: 37, n: 20, k: 24, transA: true)))      // M of A^T
        XCTAssertTrue(OpenCLBackend.gemmVectorLoads(GemmShape(m: 13, n: 27, k: 40, transB: true)))       // K, K
        XCTAssertFalse(OpenCLBackend.gemmVectorLoads(GemmShape(m: 12, n: 28, k: 40, offsetA: 2)))        // offset
        XCTAssertFalse(OpenCLBackend.gemmVectorLoads(GemmShape(m: 12, n: 28, k: 40, batch: 2, strideB: 1122)))
        XCTAssertTrue(OpenCLBackend.gemmVectorLoads(GemmShape(m: 12, n: 28, k: 40, batch: 2, strideB: 0)))  // broadcast
    }

    /// GEMMs with and without float4 loads, every transpose, ragged extents, a batch with offsets and padded strides.
    static let gemmShapes: [GemmShape] = [
        GemmShape(m: 37, n: 68, k: 36, alpha: 1, beta: 0),
        GemmShape(m: 36, n: 20, k: 23, transA: true, batch: 2, alpha: 1, beta: 0.5),
        GemmShape(m: 13, n: 132, k: 40, transB: true, batch: 3, strideA: 13 * 40 + 4, strideB: 132 * 40 + 8,
                  strideC: 13 * 132 + 3, offsetA: 4, offsetB: 12, offsetC: 5, alpha: 0.5, beta: 0),
        GemmShape(m: 140, n: 29, k: 52, transA: true, transB: true, alpha: 1, beta: 0),
        GemmShape(m: 33, n: 47, k: 70, transB: true, alpha: 1, beta: 0),
    ]

    func testGemmSingleAndDoubleStagingAgree() throws {
        let double = try TestBackends.requireOpenCL()
        let single = try XCTUnwrap(Self.single)
        for (index, s) in Self.gemmShapes.enumerated() {
            var rng = TestRNG(seed: UInt64(300 + index))
            let (na, nb, nc) = GemmTests.extents(s)
            let a = rng.floats(na), b = rng.floats(nb)
            let c0 = s.beta == 0 ? [Float](repeating: .nan, count: nc) : rng.floats(nc)
            let want = GemmTests.reference(s, a, b, c0.map { $0.isNaN ? 0 : $0 })
            var outs: [[Float]] = []
            for backend in [single, double] as [any Backend] {
                let c = try backend.buffer(c0)
                try backend.gemm(s, a: try backend.buffer(a), b: try backend.buffer(b), c: c)
                outs.append(try backend.array(c))
            }
            let what = "gemm m=\(s.m) n=\(s.n) k=\(s.k) tA=\(s.transA) tB=\(s.transB) batch=\(s.batch)"
            // Elements outside the batch items stay NaN (beta 0) and are compared as bits below.
            assertClose(outs[0].map { $0.isNaN ? 0 : $0 }, want.map { $0.isNaN ? 0 : $0 }, tolerance: 2e-5, "single-staged \(what)")
            XCTAssertEqual(outs[0].map(\.bitPattern), outs[1].map(\.bitPattern), "single vs double staging \(what)")
        }
    }

    /// Conv shapes that pick the tall, medium and large tiles, stride 2 and groups, and a K split.
    static let convShapes: [(Conv2dShape, splits: Int?)] = [
        (Conv2dShape(batch: 2, inChannels: 8, outChannels: 130, height: 12, width: 16, kernelH: 3, kernelW: 3, padH: 1, padW: 1), nil),
        (Conv2dShape(batch: 2, inChannels: 40, outChannels: 36, height: 9, width: 11, kernelH: 3, kernelW: 3, stride: 2,
                     padH: 1, padW: 1, groups: 2), nil),
        (Conv2dShape(batch: 1, inChannels: 24, outChannels: 40, height: 4, width: 5, kernelH: 3, kernelW: 3, padH: 1, padW: 1), 3),
    ]

    func testConvSingleAndDoubleStagingAgree() throws {
        let double = try TestBackends.requireOpenCL()
        let single = try XCTUnwrap(Self.single)
        for (index, (s, splits)) in Self.convShapes.enumerated() {
            var rng = TestRNG(seed: UInt64(400 + index))
            let x = rng.floats(s.inputCount), w = rng.floats(s.weightCount), dy = rng.floats(s.outputCount)
            var outs: [[[Float]]] = []
            for cl in [single, double] as [any Backend] {
                let choice = splits.map { KernelChoice(conv: .tall, splits: $0) }
                let xb = try cl.buffer(x), wb = try cl.buffer(w), dyb = try cl.buffer(dy)
                let y = try cl.poisoned(s.outputCount), dx = try cl.poisoned(s.inputCount), dw = try cl.poisoned(s.weightCount)
                guard let open = cl as? OpenCLBackend else { return XCTFail("not an OpenCL backend") }
                try open.conv2d(s, input: xb, weight: wb, output: y, choice: choice)
                try open.conv2dGradInput(s, gradOutput: dyb, weight: wb, gradInput: dx, choice: choice)
                try open.conv2dGradWeight(s, input: xb, gradOutput: dyb, gradWeight: dw, choice: choice)
                outs.append([try cl.array(y), try cl.array(dx), try cl.array(dw)])
            }
            let want = [ConvReference.forward(s, x: x, w: w), ConvReference.gradInput(s, dy: dy, w: w),
                        ConvReference.gradWeight(s, x: x, dy: dy)]
            for (k, name) in ["forward", "grad-input", "grad-weight"].enumerated() {
                assertClose(outs[0][k], want[k], tolerance: 1e-5, "single-staged conv2d \(name) \(s)")
                XCTAssertEqual(outs[0][k].map(\.bitPattern), outs[1][k].map(\.bitPattern), "single vs double staging \(name) \(s)")
            }
        }
    }

    /// Single vs double staging side by side on the 128×128 conv tile, 8 alternating pairs per kernel in one process
    /// (medians and per-pair ratios). Only with HISTOGAN_TIMING=1:
    /// `HISTOGAN_TIMING=1 swift test -c release --filter TileStagingTests/testStagingTiming`.
    func testStagingTiming() throws {
        guard ProcessInfo.processInfo.environment["HISTOGAN_TIMING"] == "1" else {
            throw XCTSkip("timing only with HISTOGAN_TIMING=1")
        }
        let cl = try XCTUnwrap(Self.single)
        for size in [32, 16] {
            let s = Conv2dShape(batch: 2, inChannels: 128, outChannels: 128, height: size, width: size, kernelH: 3, kernelW: 3,
                                padH: 1, padW: 1)
            var rng = TestRNG(seed: 1)
            let x = try cl.buffer(rng.floats(s.inputCount)), w = try cl.buffer(rng.floats(s.weightCount))
            let dy = try cl.buffer(rng.floats(s.outputCount))
            let y = try cl.allocate(s.outputCount), dx = try cl.allocate(s.inputCount), dw = try cl.allocate(s.weightCount)
            for kernel in ["forward", "grad-input", "grad-weight"] {
                func run(_ staging: TileStaging) throws {
                    let choice = KernelChoice(conv: .large, staging: staging)
                    switch kernel {
                    case "forward": try cl.conv2d(s, input: x, weight: w, output: y, choice: choice)
                    case "grad-input": try cl.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: dx, choice: choice)
                    default: try cl.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: dw, choice: choice)
                    }
                    try cl.synchronize()
                }
                var ms: [TileStaging: [Double]] = [.single: [], .double: []]
                for _ in 0..<8 {
                    for staging in [TileStaging.single, .double] {
                        try run(staging)
                        let start = DispatchTime.now().uptimeNanoseconds
                        try run(staging)
                        ms[staging]!.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
                    }
                }
                let median = { (v: [Double]) in v.sorted()[v.count / 2] }
                let pairs = zip(ms[.single]!, ms[.double]!).map { String(format: "%.2f", $0 / $1) }.joined(separator: " ")
                print(String(format: "staging %@ %dx%dx%dx%d 3x3 %@: single %.2f ms, double %.2f ms (medians of 8); single/double per pair: %@",
                             cl.info.name, s.batch, s.inChannels, size, size, kernel, median(ms[.single]!), median(ms[.double]!), pairs))
            }
        }
    }
}
