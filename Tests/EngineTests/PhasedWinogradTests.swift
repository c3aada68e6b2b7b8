import Engine
import TestSupport
import XCTest

/// The OpenCL backend's 3x3 stride-2 convolutions by Winograd F(4x4, 2x2) over their four stride phases (winograd.cl
/// built -D WINO_R=2; `ConvAlgorithm.phasedWinogradApplies`) against float64 loops of the direct sums: forward,
/// grad-input and grad-weight, plain and scaled, paddings 0, 1 and 2 (also unequal), odd sizes (ragged 4x4 blocks, phases
/// of different sizes), the bias_act epilogue and grad-weight's split reduction; outputs NaN-poisoned first. Each result
/// also differs in its bits from the direct kernels', so a silent fall-back to direct fails.
final class PhasedWinogradTests: XCTestCase {
    /// The discriminator's form (padding 0, input 2n + 1 after the FIR), the generator's transposed one (grad-input of
    /// padding 0), padding 1 with even sizes (and a weight gain), unequal paddings, a 1x1 output, and channels not
    /// multiples of 4.
    static let shapes = [
        Conv2dShape(batch: 2, inChannels: 5, outChannels: 7, height: 9, width: 7, kernelH: 3, kernelW: 3, stride: 2),
        Conv2dShape(batch: 2, inChannels: 6, outChannels: 3, height: 19, width: 13, kernelH: 3, kernelW: 3, stride: 2),
        Conv2dShape(batch: 3, inChannels: 4, outChannels: 5, height: 10, width: 8, kernelH: 3, kernelW: 3, stride: 2,
                    padH: 1, padW: 1, weightGain: 0.37),
        Conv2dShape(batch: 1, inChannels: 3, outChannels: 9, height: 12, width: 11, kernelH: 3, kernelW: 3, stride: 2,
                    padH: 2, padW: 1),
        Conv2dShape(batch: 1, inChannels: 3, outChannels: 2, height: 3, width: 3, kernelH: 3, kernelW: 3, stride: 2),
    ]

    /// An OpenCL backend with `policy` (no tuning table).
    static func backend(_ policy: ConvAlgorithmPolicy) throws -> OpenCLBackend {
        guard let cl = try TestBackends.requireOpenCL() as? OpenCLBackend else { throw XCTSkip("not an OpenCL backend") }
        return try OpenCLBackend(device: cl.device, tuning: .off, convAlgorithm: policy)
    }

    func testPhasesMatchFloat64DirectSums() throws {
        let (phased, direct) = (try Self.backend(.winograd4x4), try Self.backend(.direct))
        for (index, s) in Self.shapes.enumerated() {
            XCTAssertTrue(ConvAlgorithm.phasedWinogradApplies(s))
            for (hasA, hasB) in [(false, false), (true, true), (true, false)] {
                let d = ScaledConv2dTests.Data(s, inScale: hasA, outScale: hasB, seed: UInt64(1_300 + 3 * index))
                let want = ScaledConvReference.all(s, d)
                let got = try ScaledConv2dTests.run(phased, s, d), base = try ScaledConv2dTests.run(direct, s, d)
                let what = "\(s) inScale \(hasA) outScale \(hasB)"
                for (name, g, b, w) in [("forward", got.y, base.y, want.y), ("grad-input", got.dx, base.dx, want.dx),
                                        ("grad-weight", got.dw, base.dw, want.dw)] {
                    assertClose(g, w, tolerance: 1e-5, "phased \(name), \(what)")
                    if s.outHeight * s.outWidth > 1 { XCTAssertNotEqual(g, b, "phased \(name) ran the direct kernel, \(what)") }
                }
            }
        }
    }

    /// grad-weight with its tiles reduced in 1, 2, 3 and 7 chunks (the last ones partly zero padding), against float64.
    func testGradWeightSplitsMatchFloat64() throws {
        let cl = try Self.backend(.direct)
        let s = Conv2dShape(batch: 3, inChannels: 6, outChannels: 5, height: 33, width: 29, kernelH: 3, kernelW: 3, stride: 2)
        let d = ScaledConv2dTests.Data(s, inScale: true, outScale: true, seed: 1_320)
        let want = ScaledConvReference.all(s, d).dw
        let x = try cl.buffer(d.x), dy = try cl.buffer(d.dy), a = try cl.buffer(d.a!), b = try cl.buffer(d.b!)
        for splits in [1, 2, 3, 7] {
            let dw = try cl.poisoned(s.weightCount)
            try cl.scaledConv2dGradWeight(s, input: x, gradOutput: dy, inScale: a, outScale: b, gradWeight: dw,
                                          choice: KernelChoice(winogradSplits: splits, algorithm: .winograd4x4))
            assertClose(try cl.array(dw), want, tolerance: 1e-5, "phased grad-weight in \(splits) splits")
        }
    }

    /// conv2dBiasAct's epilogue in the phased forward's output transform, against float64.
    func testBiasActEpilogueMatchesFloat64() throws {
        try WinogradTests.checkEpilogue(try Self.backend(.winograd4x4), Self.shapes[2], seed: 1_330, "phased conv2dBiasAct")
    }

    /// Accuracy on a layer of the discriminator's width (128 channels, 33x33 in, 16x16 out, K = 1152): within 16x the
    /// direct kernel's relative L2 error against float64 (F(4x4, 2x2)'s coefficients, up to 8 in Aᵀ, magnify roundings
    /// as F(4x4, 3x3)'s do).
    func testWideLayerErrorIsLikeTheDirectKernel() throws {
        let s = Conv2dShape(batch: 2, inChannels: 128, outChannels: 128, height: 33, width: 33, kernelH: 3, kernelW: 3, stride: 2)
        try WinogradTests.compareErrors(try Self.backend(.winograd4x4), try Self.backend(.direct), s, seed: 1_340, factor: 16)
    }
}
