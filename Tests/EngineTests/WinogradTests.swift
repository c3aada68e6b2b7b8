import Engine
import TestSupport
import XCTest

/// Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions of both backends (CPUBackend+Winograd.swift; winograd.cl +
/// gemm.cl) against float64 loops of the direct sums: forward, grad-input and grad-weight, plain and scaled, the
/// bias_act epilogue, odd sizes (ragged blocks), the OpenCL grad-weight's split reduction; outputs NaN-poisoned first.
/// Which shapes the policy sends to Winograd.
final class WinogradTests: XCTestCase {
    /// Odd H and W (the last 2x2 blocks are half outside), channels not multiples of 4, P = 2·3·4 = 24 tiles and
    /// 3·4·5 = 60; the second with a weight gain (the GEMM's alpha).
    static let shapes = [
        Conv2dShape(batch: 2, inChannels: 5, outChannels: 7, height: 5, width: 7, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
        Conv2dShape(batch: 3, inChannels: 16, outChannels: 12, height: 8, width: 9, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                    weightGain: 0.37),
        Conv2dShape(batch: 1, inChannels: 3, outChannels: 4, height: 1, width: 1, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ]

    /// Both Winograd policies: F(2x2, 3x3) and F(4x4, 3x3).
    static let policies: [ConvAlgorithmPolicy] = [.winograd, .winograd4x4]

    static func winogradBackend(_ policy: ConvAlgorithmPolicy = .winograd) throws -> OpenCLBackend {
        guard let cl = try TestBackends.requireOpenCL() as? OpenCLBackend else { throw XCTSkip("not an OpenCL backend") }
        return try OpenCLBackend(device: cl.device, tuning: .off, convAlgorithm: policy)
    }

    /// Both backends with the Winograd policy `policy`, CPU first (OpenCL when present; CI=true requires it).
    static func winogradBackends(_ policy: ConvAlgorithmPolicy) throws -> [any Backend] {
        let cpu = CPUBackend(convAlgorithm: policy)
        guard TestBackends.opencl != nil else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("CI=true but no OpenCL device") }
            return [cpu]
        }
        return [cpu, try winogradBackend(policy)]
    }

    /// Both backends under both Winograd policies.
    static func allWinogradBackends() throws -> [any Backend] { try policies.flatMap { try winogradBackends($0) } }

    func testWinogradMatchesFloat64DirectSums() throws {
        for backend in try Self.allWinogradBackends() {
            try checkAgainstFloat64(backend)
        }
    }

    private func checkAgainstFloat64(_ cl: any Backend) throws {
        for (index, s) in Self.shapes.enumerated() {
            for (hasA, hasB) in [(false, false), (true, true), (true, false)] {
                let d = ScaledConv2dTests.Data(s, inScale: hasA, outScale: hasB, seed: UInt64(900 + 3 * index))
                let want = ScaledConvReference.all(s, d)
                let got = try ScaledConv2dTests.run(cl, s, d)
                let what = "\(cl.info.selector) \(cl.convAlgorithm.rawValue) \(s) inScale \(hasA) outScale \(hasB)"
                assertClose(got.y, want.y, tolerance: 1e-5, "winograd forward, \(what)")
                assertClose(got.dx, want.dx, tolerance: 1e-5, "winograd grad-input, \(what)")
                assertClose(got.dw, want.dw, tolerance: 1e-5, "winograd grad-weight, \(what)")
            }
        }
    }

    /// Accuracy on a layer of the network's width (128 channels, 16x16, K = 1152): F(2x2, 3x3)'s relative L2 error
    /// against float64 stays within 4x the direct kernels' (its transforms add a few roundings per product, not per K
    /// step); F(4x4, 3x3)'s within 16x (its coefficients, up to 8 in Aᵀ and 5 in Bᵀ, magnify those roundings: 2.4e-6
    /// for the forward here, 4x the OpenCL direct kernel's error and 9x the CPU's; a NumPy float32 model of the same
    /// transforms gives 2.5e-6).
    func testWideLayerErrorIsLikeTheDirectKernels() throws {
        for (policy, factor) in [(ConvAlgorithmPolicy.winograd, 4.0), (.winograd4x4, 16.0)] {
            let cpu: [(any Backend, any Backend)] = [(CPUBackend(convAlgorithm: policy), CPUBackend(convAlgorithm: .direct))]
            let cl: [(any Backend, any Backend)] = try Self.winogradBackends(policy).compactMap { $0 as? OpenCLBackend }.map {
                ($0, try OpenCLBackend(device: $0.device, tuning: .off, convAlgorithm: .direct))
            }
            let s = Conv2dShape(batch: 2, inChannels: 128, outChannels: 128, height: 16, width: 16, kernelH: 3, kernelW: 3,
                                padH: 1, padW: 1)
            for (wino, direct) in cpu + cl { try Self.compareErrors(wino, direct, s, seed: 940, factor: factor) }
        }
    }

    /// Prints and checks the relative L2 errors against float64 of forward, grad-input and grad-weight of `s` on `wino`:
    /// within `factor` times `direct`'s (or 1e-7).
    static func compareErrors(_ wino: any Backend, _ direct: any Backend, _ s: Conv2dShape, seed: UInt64, factor: Double) throws {
        let d = ScaledConv2dTests.Data(s, inScale: false, outScale: false, seed: seed)
        let want = ScaledConvReference.all(s, d)
        let (w, r) = (try ScaledConv2dTests.run(wino, s, d), try ScaledConv2dTests.run(direct, s, d))
        for (name, got, base, ref) in [("forward", w.y, r.y, want.y), ("grad-input", w.dx, r.dx, want.dx),
                                       ("grad-weight", w.dw, r.dw, want.dw)] {
            let (eWino, eDirect) = (relativeL2(got, ref), relativeL2(base, ref))
            let what = "\(wino.info.selector) \(wino.convAlgorithm.rawValue) stride \(s.stride) \(name)"
            print(String(format: "%@: relative L2 error vs float64: winograd %.2e, direct %.2e", what, eWino, eDirect))
            XCTAssertLessThanOrEqual(eWino, max(factor * eDirect, 1e-7), what)
        }
    }

    /// grad-weight with its tiles reduced in 1, 2, 3 and 7 chunks (the last ones partly zero padding), against float64.
    func testGradWeightSplitsMatchFloat64() throws {
        let cl = try Self.winogradBackend()
        let s = Self.shapes[1]
        let d = ScaledConv2dTests.Data(s, inScale: true, outScale: true, seed: 910)
        let want = ScaledConvReference.all(s, d).dw
        let x = try cl.buffer(d.x), dy = try cl.buffer(d.dy), a = try cl.buffer(d.a!), b = try cl.buffer(d.b!)
        for algorithm in [ConvAlgorithm.winograd, .winograd4x4] {
            for splits in [1, 2, 3, 7] {
                let dw = try cl.poisoned(s.weightCount)
                try cl.scaledConv2dGradWeight(s, input: x, gradOutput: dy, inScale: a, outScale: b, gradWeight: dw,
                                              choice: KernelChoice(winogradSplits: splits, algorithm: algorithm))
                assertClose(try cl.array(dw), want, tolerance: 1e-5, "\(algorithm) grad-weight in \(splits) splits")
            }
        }
    }

    /// conv2dBiasAct's epilogue in the output transform: y = clamp(lrelu(conv + bias)·gain, ±clamp), against float64.
    func testBiasActEpilogueMatchesFloat64() throws {
        for backend in try Self.allWinogradBackends() {
            try Self.checkEpilogue(backend, Self.shapes[1], seed: 920, "\(backend.convAlgorithm.rawValue) conv2dBiasAct on \(backend.info.selector)")
        }
    }

    /// conv2dBiasAct of `s` on `cl` (outputs poisoned) against y = clamp(lrelu(conv + bias)·1.5, ±2) in float64.
    static func checkEpilogue(_ cl: any Backend, _ s: Conv2dShape, seed: UInt64, _ what: String) throws {
        let d = Conv2dTests.Data(s, seed: seed)
        var rng = TestRNG(seed: seed + 1)
        let bias = rng.floats(s.outChannels)
        let act = BiasActShape(count: s.outputCount, channels: s.outChannels, inner: s.outHeight * s.outWidth,
                               activation: .leakyReLU, alpha: 0.2, gain: 1.5, clamp: 2.0)
        let pre = ConvReference.forward(s, x: d.x, w: d.w), inner = s.outHeight * s.outWidth
        let want = pre.indices.map { i -> Double in
            let v = pre[i] + Double(bias[(i / inner) % s.outChannels])
            return min(max((v > 0 ? v : 0.2 * v) * 1.5, -2), 2)
        }
        let y = try cl.poisoned(s.outputCount)
        try cl.conv2dBiasAct(s, input: try cl.buffer(d.x), weight: try cl.buffer(d.w), bias: try cl.buffer(bias), act: act, output: y)
        assertClose(try cl.array(y), want, tolerance: 1e-5, what)
    }

    /// A tuning-table choice picks the algorithm whatever the policy: the same forward by a direct tile and by Winograd
    /// on a direct-policy backend, both against float64.
    func testChoiceSelectsAlgorithm() throws {
        guard let cl = try TestBackends.requireOpenCL() as? OpenCLBackend else { throw XCTSkip("not an OpenCL backend") }
        let direct = try OpenCLBackend(device: cl.device, tuning: .off, convAlgorithm: .direct)
        let s = Self.shapes[1]
        let d = Conv2dTests.Data(s, seed: 930)
        let want = ConvReference.forward(s, x: d.x, w: d.w)
        let before = direct.builtPrograms
        for choice in [KernelChoice(conv: .medium), KernelChoice(winogradSplits: 1), KernelChoice(winogradSplits: 1, algorithm: .winograd4x4)] {
            let y = try direct.poisoned(s.outputCount)
            try direct.conv2d(s, input: try direct.buffer(d.x), weight: try direct.buffer(d.w), output: y, choice: choice)
            assertClose(try direct.array(y), want, tolerance: 1e-5, "conv2d by \(choice)")
        }
        XCTAssertGreaterThan(direct.builtPrograms, before + 2, "the Winograd choices built winograd.cl twice and a GEMM")
    }

    /// The tuner offers each Winograd algorithm only where it applies: once for the forward and grad-input, with the
    /// heuristic's, half and twice its chunk count for grad-weight; a Winograd-policy backend's heuristic is its Winograd.
    func testTunerCandidates() throws {
        guard let cl = try TestBackends.requireOpenCL() as? OpenCLBackend else { throw XCTSkip("not an OpenCL backend") }
        let direct = OpenCLTuner(backend: try OpenCLBackend(device: cl.device, tuning: .off, convAlgorithm: .direct))
        let s = Conv2dShape(batch: 4, inChannels: 64, outChannels: 64, height: 64, width: 64, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        for (algorithm, block) in [(ConvAlgorithm.winograd, 2), (.winograd4x4, 4)] {
            let h = OpenCLBackend.winogradGradWeightSplits(s, block: block, computeUnits: cl.info.computeUnits)
            let winograd = { (kernel: TunedKernel, shape: Conv2dShape) in
                direct.candidates(for: .conv(kernel, shape)).filter { $0.algorithm == algorithm }.map(\.splits)
            }
            XCTAssertEqual(winograd(.conv2dForward, s), [1], "\(algorithm)")
            XCTAssertEqual(winograd(.conv2dGradInput, s), [1], "\(algorithm)")
            var expected: [Int] = []
            for n in [h, max(1, h / 2), 2 * h] where !expected.contains(n) { expected.append(n) }
            XCTAssertEqual(winograd(.conv2dGradWeight, s), expected, "\(algorithm)")
            var strided = s
            strided.stride = 2
            strided.padH = 0
            strided.padW = 0
            // Stride 2: only F(4x4, 2x2) over the phases; F(2x2) would save nothing there.
            XCTAssertEqual(winograd(.conv2dForward, strided), algorithm == .winograd4x4 ? [1] : [], "\(algorithm)")
            XCTAssertEqual(winograd(.conv2dGradInput, strided), algorithm == .winograd4x4 ? [1] : [], "\(algorithm)")
            var grouped = strided
            grouped.groups = 2
            XCTAssertEqual(winograd(.conv2dForward, grouped), [], "\(algorithm)")
            let policy = ConvAlgorithmPolicy(rawValue: algorithm.rawValue)!
            let wino = OpenCLTuner(backend: try OpenCLBackend(device: cl.device, tuning: .off, convAlgorithm: policy))
            XCTAssertEqual(wino.heuristic(for: .conv(.conv2dGradWeight, s)), KernelChoice(winogradSplits: h, algorithm: algorithm))
        }
        XCTAssertNil(direct.heuristic(for: .conv(.conv2dForward, s)).algorithm)
        // F(4x4, 3x3) has a quarter of F(2x2, 3x3)'s tiles: 4·16·16 = 1,024 here, so at most 4 chunks of 256.
        XCTAssertLessThanOrEqual(OpenCLBackend.winogradGradWeightSplits(s, block: 4, computeUnits: 1_000), 4)
    }

    /// Hand-checked policy decisions: Winograd only for 3x3/stride 1/padding 1/groups 1; auto only from the backend's
    /// width (OpenCL 64, CPU 256 channels) and 16x16 pixels, F(4x4, 3x3) from 32x32; an unknown `HISTOGAN_CONV_ALGORITHM` is an error naming
    /// the variable.
    func testPolicy() throws {
        func shape(_ c: Int, _ o: Int, _ hw: Int, k: Int = 3, stride: Int = 1, pad: Int = 1, groups: Int = 1) -> Conv2dShape {
            Conv2dShape(batch: 4, inChannels: c, outChannels: o, height: hw, width: hw, kernelH: k, kernelW: k, stride: stride,
                        padH: pad, padW: pad, groups: groups)
        }
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(64, 64, 16), minChannels: OpenCLBackend.winogradMinChannels), .winograd)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(128, 128, 32), minChannels: CPUBackend.winogradMinChannels), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(256, 512, 16), minChannels: CPUBackend.winogradMinChannels), .winograd)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(64, 32, 64), minChannels: 64), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(512, 512, 8), minChannels: 64), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.winograd.algorithm(for: shape(8, 8, 4), minChannels: 64), .winograd)
        XCTAssertEqual(ConvAlgorithmPolicy.winograd.algorithm(for: shape(64, 64, 32, stride: 2), minChannels: 64), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.winograd.algorithm(for: shape(64, 64, 32, k: 1, pad: 0), minChannels: 64), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.winograd.algorithm(for: shape(64, 64, 32, pad: 0), minChannels: 64), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.winograd.algorithm(for: shape(64, 64, 32, groups: 2), minChannels: 64), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.direct.algorithm(for: shape(512, 512, 64), minChannels: 64), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.winograd4x4.algorithm(for: shape(8, 8, 4), minChannels: 64), .winograd4x4)
        XCTAssertEqual(ConvAlgorithmPolicy.winograd4x4.algorithm(for: shape(64, 64, 32, stride: 2), minChannels: 64), .direct)
        XCTAssertEqual(try ConvAlgorithmPolicy.fromEnvironment(["HISTOGAN_CONV_ALGORITHM": "winograd4x4"]), .winograd4x4)
        // auto's block size: F(4x4, 3x3) from the backend's min4x4Pixels (32x32 on both), F(2x2, 3x3) below; never
        // F(4x4) without a threshold (OpenCL with TF32 products: TF32GemmTests).
        let cl = (OpenCLBackend.winogradMinChannels, OpenCLBackend.winograd4x4MinPixels)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(64, 64, 32), minChannels: cl.0, min4x4Pixels: cl.1), .winograd4x4)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(64, 64, 16), minChannels: cl.0, min4x4Pixels: cl.1), .winograd)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(32, 64, 64), minChannels: cl.0, min4x4Pixels: cl.1), .direct)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(256, 256, 64), minChannels: CPUBackend.winogradMinChannels),
                       .winograd)
        let cpu = (CPUBackend.winogradMinChannels, CPUBackend.winograd4x4MinPixels)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(256, 256, 32), minChannels: cpu.0, min4x4Pixels: cpu.1), .winograd4x4)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(256, 256, 16), minChannels: cpu.0, min4x4Pixels: cpu.1), .winograd)
        XCTAssertEqual(ConvAlgorithmPolicy.auto.algorithm(for: shape(128, 256, 64), minChannels: cpu.0, min4x4Pixels: cpu.1), .direct)
        // Stride 2 on a backend with the phased form (OpenCL): F(4x4, 2x2) when asked for by winograd4x4 (never by
        // winograd), under auto from 64 channels and a 32x32 output, and not without F(4x4) (TF32); 3x3 and groups 1 only.
        func phased(_ policy: ConvAlgorithmPolicy, _ s: Conv2dShape, min4x4: Int? = cl.1) -> ConvAlgorithm {
            policy.algorithm(for: s, minChannels: cl.0, min4x4Pixels: min4x4, phased: true)
        }
        XCTAssertEqual(phased(.winograd4x4, shape(8, 8, 5, stride: 2, pad: 0)), .winograd4x4)
        XCTAssertEqual(phased(.winograd4x4, shape(8, 8, 6, stride: 2, pad: 2)), .winograd4x4)
        XCTAssertEqual(phased(.winograd, shape(64, 64, 33, stride: 2, pad: 0)), .direct)
        XCTAssertEqual(phased(.direct, shape(64, 64, 33, stride: 2, pad: 0)), .direct)
        XCTAssertEqual(phased(.auto, shape(64, 64, 65, stride: 2, pad: 0)), .winograd4x4)
        XCTAssertEqual(phased(.auto, shape(64, 64, 64, stride: 2, pad: 1)), .winograd4x4)
        XCTAssertEqual(phased(.auto, shape(64, 64, 63, stride: 2, pad: 0)), .direct, "31x31 output")
        XCTAssertEqual(phased(.auto, shape(512, 512, 33, stride: 2, pad: 0)), .direct, "16x16 output")
        XCTAssertEqual(phased(.auto, shape(32, 64, 65, stride: 2, pad: 0)), .direct, "32 channels")
        XCTAssertEqual(phased(.auto, shape(64, 64, 65, stride: 2, pad: 0), min4x4: nil), .direct, "no F(4x4)")
        XCTAssertEqual(phased(.winograd4x4, shape(64, 64, 33, stride: 2, pad: 0, groups: 2)), .direct)
        XCTAssertEqual(phased(.winograd4x4, shape(64, 64, 33, k: 1, stride: 2, pad: 0)), .direct)
        XCTAssertEqual(phased(.winograd4x4, shape(64, 64, 33, stride: 3, pad: 0)), .direct)
        XCTAssertEqual(phased(.auto, shape(64, 64, 32)), .winograd4x4, "stride 1 as before")
        XCTAssertEqual(ConvAlgorithm.winograd.winogradBlock, 2)
        XCTAssertEqual(ConvAlgorithm.winograd4x4.winogradBlock, 4)
        XCTAssertNil(ConvAlgorithm.direct.winogradBlock)
        XCTAssertEqual(try ConvAlgorithmPolicy.fromEnvironment([:]), .auto)
        XCTAssertEqual(try ConvAlgorithmPolicy.fromEnvironment(["HISTOGAN_CONV_ALGORITHM": "Direct"]), .direct)
        XCTAssertThrowsError(try ConvAlgorithmPolicy.fromEnvironment(["HISTOGAN_CONV_ALGORITHM": "fft"])) { error in
            XCTAssertTrue("\(error)".contains("HISTOGAN_CONV_ALGORITHM"), "\(error)")
        }
    }
}
