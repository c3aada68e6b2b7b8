import Engine
import TestSupport
import Foundation
import XCTest

/// gemm.cl's TF32 path (`--tf32`). Its tensor-core instruction exists only on NVIDIA, so these tests run the same
/// kernel with `mma.sync` replaced by gemm.cl's emulation of the instruction's documented fragment semantics: they
/// check every fragment index, the accumulator layout and the TF32 rounding against float64 references of their own.
final class TF32GemmTests: XCTestCase {
    static let emulated: OpenCLBackend? = {
        guard ProcessInfo.processInfo.environment["HISTOGAN_TEST_NO_OPENCL"] == nil,
              let first = OpenCLDiscovery.devices().first else { return nil }
        return try? OpenCLBackend(device: first, tuning: .off, precision: .tf32, emulateTensorCores: true)
    }()

    func requireEmulated() throws -> OpenCLBackend {
        _ = try TestBackends.requireOpenCL()
        return try XCTUnwrap(Self.emulated, "the emulated TF32 backend did not open")
    }

    /// `x` rounded to TF32 (11 significant bits) to nearest, ties away from zero, by scaling in float64 (the kernel
    /// works on the bits).
    static func tf32(_ x: Float) -> Double {
        guard x.isFinite, x != 0 else { return Double(x) }
        let quantum = Double(sign: .plus, exponent: Int(x.exponent) - 10, significand: 1)
        return (Double(x) / quantum).rounded(.toNearestOrAwayFromZero) * quantum
    }

    /// Per element: |c − Σ tf32(a)·tf32(b)·alpha − beta·c0| / (Σ |tf32(a)·tf32(b)|·|alpha| + |beta·c0|), float64 sums;
    /// with `round: false` the same against the unrounded fp32 operands. Returns the largest.
    static func error(_ s: GemmShape, a: [Float], b: [Float], c0: [Float], c: [Float], round: Bool = true) -> Double {
        let value = { (x: Float) in round ? tf32(x) : Double(x) }
        var worst = 0.0
        for item in 0..<s.batch {
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var sum = 0.0, scale = 0.0
                    for p in 0..<s.k {
                        let x = value(a[s.offsetA + item * s.strideA + (s.transA ? p * s.m + i : i * s.k + p)])
                        let y = value(b[s.offsetB + item * s.strideB + (s.transB ? j * s.k + p : p * s.n + j)])
                        sum += x * y
                        scale += abs(x * y)
                    }
                    let ci = s.offsetC + item * s.strideC + i * s.n + j
                    let old = s.beta == 0 ? 0 : Double(s.beta) * Double(c0[ci])
                    let want = Double(s.alpha) * sum + old
                    worst = max(worst, abs(Double(c[ci]) - want) / max(abs(Double(s.alpha)) * scale + abs(old), 1e-30))
                }
            }
        }
        return worst
    }

    func check(_ s: GemmShape, on cl: OpenCLBackend, tile: GemmTile, staging: TileStaging? = nil, seed: UInt64,
               file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = TestRNG(seed: seed)
        let (na, nb, nc) = GemmTests.extents(s)
        let a = rng.floats(na), b = rng.floats(nb)
        let c0 = s.beta == 0 ? [Float](repeating: .nan, count: nc) : rng.floats(nc)
        let c = try cl.buffer(c0)
        try cl.gemm(s, a: try cl.buffer(a), b: try cl.buffer(b), c: c, tile: tile, staging: staging)
        let got = try cl.array(c)
        let what = "tile \(tile) staging \(staging?.rawValue ?? "default") m=\(s.m) n=\(s.n) k=\(s.k) tA=\(s.transA) tB=\(s.transB) batch=\(s.batch)"
        let error = Self.error(s, a: a, b: b, c0: c0, c: got)
        XCTAssertLessThan(error, 1e-6, "TF32 gemm vs float64 of the TF32 operands: \(what)", file: file, line: line)
        // Against the unrounded operands the error is that of TF32 (up to about 2^-10 of the scale), not fp32's.
        let unrounded = Self.error(s, a: a, b: b, c0: c0, c: got, round: false)
        XCTAssertGreaterThan(unrounded, 1e-5, "no TF32 rounding seen: \(what)", file: file, line: line)
        XCTAssertLessThan(unrounded, 2e-3, what, file: file, line: line)
    }

    /// Every transpose on the 128x128 block (scalar and float4 loads), each other tile, single staging, and a batch
    /// with offsets, alpha and beta: odd sizes everywhere, so every block has ragged edges.
    func testEmulatedTensorCoresMatchTheTF32Reference() throws {
        let cl = try requireEmulated()
        XCTAssertEqual(cl.matmulArithmetic, .tf32Emulated)
        let big = GemmTile(tm: 8, tn: 8)
        for (i, (ta, tb)) in GemmTests.transposes.enumerated() {
            try check(GemmShape(m: 37, n: 53, k: 29, transA: ta, transB: tb), on: cl, tile: big, seed: 10 + UInt64(i))
            XCTAssertFalse(OpenCLBackend.gemmVectorLoads(GemmShape(m: 37, n: 53, k: 29, transA: ta, transB: tb)))
            let vec = GemmShape(m: 132, n: 140, k: 36, transA: ta, transB: tb)
            XCTAssertTrue(OpenCLBackend.gemmVectorLoads(vec))
            try check(vec, on: cl, tile: big, seed: 20 + UInt64(i))
        }
        for tile in GemmTile.candidates where tile != big {
            try check(GemmShape(m: 70, n: 45, k: 40, transB: true), on: cl, tile: tile, seed: 30 + UInt64(tile.tm + tile.tn))
        }
        try check(GemmShape(m: 37, n: 53, k: 29, transA: true), on: cl, tile: big, staging: .single, seed: 40)
        let batched = GemmShape(m: 19, n: 23, k: 33, transA: false, transB: true, batch: 3, strideA: 19 * 33 + 5,
                                strideB: 23 * 33 + 3, strideC: 19 * 23 + 7, offsetA: 2, offsetB: 1, offsetC: 4, alpha: 0.75, beta: 0.5)
        try check(batched, on: cl, tile: big, seed: 50)
    }

    /// TF32 rounding by hand: C = A·[1] with K = 1 returns tf32(a) itself.
    func testTF32RoundingHandWorked() throws {
        let cl = try requireEmulated()
        let u = Float(1) / 2048  // 2^-11: half a TF32 ulp at 1
        let cases: [(Float, Float)] = [
            (1 + u, 1 + 2 * u),                                     // tie: away from zero
            (-(1 + u), -(1 + 2 * u)),
            (1 + u / 2, 1),                                         // below half
            (1 + u + Float(1) / 1_048_576, 1 + 2 * u),              // above half
            (1 + 3 * u, 1 + 4 * u),                                 // tie above an odd TF32 value: still away
            (2 - u / 2, 2),                                         // carry into the exponent
            (0.1, 1638.0 / 16384),                                  // 0.1·2^14 = 1638.4: TF32 steps are 2^-14 here
            (.infinity, .infinity), (0, 0),
        ]
        let a = cases.map(\.0) + [.nan]
        let s = GemmShape(m: a.count, n: 1, k: 1)
        let c = try cl.poisoned(a.count)
        try cl.gemm(s, a: try cl.buffer(a), b: try cl.buffer([1]), c: c, tile: GemmTile(tm: 4, tn: 4))
        let got = try cl.array(c)
        for (i, (x, want)) in cases.enumerated() {
            XCTAssertEqual(got[i].bitPattern, want.bitPattern, "tf32(\(x)) = \(got[i]), want \(want)")
        }
        XCTAssertTrue(got[cases.count].isNaN, "NaN must stay NaN")
    }

    /// The backend's start-up probe accepts the emulated kernel and rejects fp32 results (which are not TF32's).
    func testTheProbeTellsTF32FromFP32() throws {
        let cl = try requireEmulated()
        XCTAssertLessThan(try OpenCLBackend.tensorCoreProbe(cl), OpenCLBackend.tensorCoreProbeTolerance)
        let fp32 = try XCTUnwrap(TestBackends.opencl as? OpenCLBackend)
        XCTAssertEqual(fp32.matmulArithmetic, .fp32)
        XCTAssertGreaterThan(try OpenCLBackend.tensorCoreProbe(fp32), OpenCLBackend.tensorCoreProbeTolerance)
    }

    /// Off NVIDIA, `--tf32` computes in fp32 (the same bits as without it) and says why, naming the device.
    func testTF32RequestFallsBackToFP32OffNVIDIA() throws {
        let plain = try XCTUnwrap(TestBackends.requireOpenCL() as? OpenCLBackend)
        try XCTSkipIf(plain.info.vendor.localizedCaseInsensitiveContains("nvidia"), "an NVIDIA device: TF32 applies")
        let asked = try OpenCLBackend(device: plain.device, tuning: .off, precision: .tf32)
        XCTAssertEqual(asked.matmulArithmetic, .fp32)
        let notice = try XCTUnwrap(asked.precisionNotice)
        XCTAssertTrue(notice.contains(plain.info.name) && notice.contains("stay fp32"), notice)
        var rng = TestRNG(seed: 7)
        let s = GemmShape(m: 21, n: 34, k: 17)
        let a = rng.floats(s.m * s.k), b = rng.floats(s.k * s.n)
        var outputs: [[Float]] = []
        for cl in [plain, asked] {
            let c = try cl.poisoned(s.m * s.n)
            try cl.gemm(s, a: try cl.buffer(a), b: try cl.buffer(b), c: c, tile: GemmTile(tm: 4, tn: 4))
            outputs.append(try cl.array(c))
        }
        XCTAssertEqual(outputs[0].map(\.bitPattern), outputs[1].map(\.bitPattern))
        XCTAssertEqual(try Device.cpu.makeBackend(precision: .tf32).matmulArithmetic, .fp32)
    }

    /// With TF32 products `auto` keeps Winograd F(2x2, 3x3) on the 32x32-and-larger layers that it sends to F(4x4, 3x3)
    /// in fp32 (F(4x4)'s transforms magnify TF32's operand rounding: 3.2e-3 relative error against 5e-4).
    func testTF32KeepsWinograd2x2() throws {
        let tf32 = try requireEmulated()
        let fp32 = try OpenCLBackend(device: tf32.device, tuning: .off, convAlgorithm: .auto)
        XCTAssertEqual(fp32.auto4x4MinPixels, OpenCLBackend.winograd4x4MinPixels)
        XCTAssertNil(tf32.auto4x4MinPixels)
    }

    /// ... and so does every other way of asking for F(4x4, 3x3): a tuning table's choice (timed in fp32) and the
    /// `winograd4x4` policy give the bits of F(2x2, 3x3) with TF32 products. In fp32 the two sizes differ, so the
    /// check can fail.
    func testTF32RunsWinograd4x4AsWinograd2x2() throws {
        let tf32 = try requireEmulated()
        let s = Conv2dShape(batch: 1, inChannels: 64, outChannels: 64, height: 32, width: 32, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        var rng = TestRNG(seed: 7)
        let x = rng.floats(s.inputCount), w = rng.floats(s.weightCount)
        func conv(_ cl: OpenCLBackend, _ algorithm: ConvAlgorithm?) throws -> [UInt32] {
            let y = try cl.poisoned(s.outputCount)
            try cl.conv2d(s, input: try cl.buffer(x), weight: try cl.buffer(w), output: y,
                          choice: algorithm.map { KernelChoice(winogradSplits: 1, algorithm: $0) })
            return try cl.array(y).map(\.bitPattern)
        }
        XCTAssertEqual(try conv(tf32, .winograd4x4), try conv(tf32, .winograd), "table choice F(4x4) with TF32")
        let policy = try OpenCLBackend(device: tf32.device, tuning: .off, convAlgorithm: .winograd4x4, precision: .tf32,
                                       emulateTensorCores: true)
        XCTAssertEqual(try conv(policy, nil), try conv(tf32, .winograd), "HISTOGAN_CONV_ALGORITHM=winograd4x4 with TF32")
        let fp32 = try OpenCLBackend(device: tf32.device, tuning: .off)
        XCTAssertNotEqual(try conv(fp32, .winograd4x4), try conv(fp32, .winograd), "fp32 runs F(4x4) as asked")
    }

    /// With TF32 products a 3x3 stride-2 conv runs directly however F(4x4, 2x2) over its phases was asked for (a table
    /// choice, the `winograd4x4` policy): the bits of the direct kernel. In fp32 the phases run, and their bits differ.
    func testTF32RunsStride2ConvsDirectly() throws {
        let tf32 = try requireEmulated()
        let s = Conv2dShape(batch: 1, inChannels: 64, outChannels: 64, height: 33, width: 33, kernelH: 3, kernelW: 3, stride: 2)
        var rng = TestRNG(seed: 8)
        let x = rng.floats(s.inputCount), w = rng.floats(s.weightCount)
        func conv(_ cl: OpenCLBackend, _ choice: KernelChoice?) throws -> [UInt32] {
            let y = try cl.poisoned(s.outputCount)
            try cl.conv2d(s, input: try cl.buffer(x), weight: try cl.buffer(w), output: y, choice: choice)
            return try cl.array(y).map(\.bitPattern)
        }
        let phases = KernelChoice(winogradSplits: 1, algorithm: .winograd4x4)
        let direct = try OpenCLBackend(device: tf32.device, tuning: .off, convAlgorithm: .direct, precision: .tf32,
                                       emulateTensorCores: true)
        let want = try conv(direct, nil)
        XCTAssertEqual(try conv(tf32, phases), want, "table choice F(4x4, 2x2) with TF32")
        let policy = try OpenCLBackend(device: tf32.device, tuning: .off, convAlgorithm: .winograd4x4, precision: .tf32,
                                       emulateTensorCores: true)
        XCTAssertEqual(try conv(policy, nil), want, "HISTOGAN_CONV_ALGORITHM=winograd4x4 with TF32")
        let fp32 = try OpenCLBackend(device: tf32.device, tuning: .off, convAlgorithm: .direct)
        XCTAssertNotEqual(try conv(fp32, phases), try conv(fp32, nil), "fp32 runs the phases as asked")
    }
}
