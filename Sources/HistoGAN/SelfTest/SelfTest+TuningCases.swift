import Engine
import Foundation

// Self-test cases for the tuning table's configurations: every conv tile the tuner may choose, split-K
// forward, grad-input and grad-weight, Winograd, and every GEMM micro-tile, each launched explicitly on the device under test and
// compared with the reference backend's default launch (the same math, so any tile or split bug shows).

extension SelfTest {
    static let tunedConvShape = Conv2dShape(batch: 2, inChannels: 5, outChannels: 7, height: 5, width: 7,
                                            kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    /// K = 72 and outH·outW = 20 (float4 A loads in the forward and grad-weight), rows and columns ragged on every tile.
    static let vectorConvShape = Conv2dShape(batch: 3, inChannels: 8, outChannels: 20, height: 5, width: 4,
                                             kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    /// 4×4 output with K = 360: several K-steps per split (float4 A loads on the tall tile), and a weight gain (in each
    /// split's store).
    static let splitConvShape = Conv2dShape(batch: 1, inChannels: 40, outChannels: 3, height: 4, width: 4,
                                            kernelH: 3, kernelW: 3, padH: 1, padW: 1, weightGain: 0.37)
    /// Stride 2 with 40 output channels: grad-input phases of K = 160, 80, 80, 40 sharing one split count (with 8
    /// splits the shallow phases end in empty chunks).
    static let splitStrideShape = Conv2dShape(batch: 2, inChannels: 6, outChannels: 40, height: 7, width: 5,
                                              kernelH: 3, kernelW: 3, stride: 2, padH: 1, padW: 1)

    /// Stride 2, the discriminator's down-sampling form (padding 0 after the FIR, odd input; output 5x4, so the 4x4 blocks
    /// are ragged), and with padding 1, even sizes and a weight gain (the GEMM's alpha): Winograd F(4x4, 2x2) over the
    /// four stride phases.
    static let phasedConvShape = Conv2dShape(batch: 2, inChannels: 5, outChannels: 7, height: 11, width: 9,
                                             kernelH: 3, kernelW: 3, stride: 2)
    static let phasedPaddedShape = Conv2dShape(batch: 3, inChannels: 6, outChannels: 9, height: 12, width: 10,
                                               kernelH: 3, kernelW: 3, stride: 2, padH: 1, padW: 1, weightGain: 0.37)

    /// Runs `tuned` on an OpenCL backend (the device under test), `plain` on any other (the reference).
    static func launch(_ ctx: SelfTestContext, tuned: (OpenCLBackend) throws -> Void, plain: () throws -> Void) throws {
        if let cl = ctx.backend as? OpenCLBackend { try tuned(cl) } else { try plain() }
    }

    /// `choice` on an OpenCL backend (nil: its heuristics), the plain `Backend` method elsewhere (the reference):
    /// forward, grad-weight and grad-input. `tf32`: inputs rounded to TF32 (`selftest --tf32`'s cases, tolerance 5e-5).
    static func tunedCases(_ s: Conv2dShape, _ choice: KernelChoice?, quick: Bool, tf32: Bool = false) -> [SelfTestCase] {
        let desc = convDescription(s) + (choice.map { " tile \($0)" } ?? "")
        let suffix = tf32 ? "tf32" : "tuned", tolerance = tf32 ? 5e-5 : 1e-5
        @Sendable func input(_ ctx: SelfTestContext, _ count: Int, _ seed: UInt64) throws -> any Buffer {
            tf32 ? try ctx.inputTF32(count, seed: seed) : try ctx.input(count, seed: seed)
        }
        return [
            SelfTestCase(family: "conv2d fwd \(suffix)", shape: desc, tolerance: tolerance, quick: quick) { ctx in
                let x = try input(ctx, s.inputCount, 4), w = try input(ctx, s.weightCount, 5)
                let y = try ctx.poisoned(s.outputCount)
                try launch(ctx, tuned: { try $0.conv2d(s, input: x, weight: w, output: y, choice: choice) },
                           plain: { try ctx.backend.conv2d(s, input: x, weight: w, output: y) })
                return try ctx.read(y)
            },
            SelfTestCase(family: "conv2d grad-weight \(suffix)", shape: desc, tolerance: tolerance, quick: quick) { ctx in
                let x = try input(ctx, s.inputCount, 4), dy = try input(ctx, s.outputCount, 6)
                let dw = try ctx.poisoned(s.weightCount)
                try launch(ctx, tuned: { try $0.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: dw, choice: choice) },
                           plain: { try ctx.backend.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: dw) })
                return try ctx.read(dw)
            },
            SelfTestCase(family: "conv2d grad-input \(suffix)", shape: desc, tolerance: tolerance, quick: quick) { ctx in
                let dy = try input(ctx, s.outputCount, 6), w = try input(ctx, s.weightCount, 5)
                let dx = try ctx.poisoned(s.inputCount)
                try launch(ctx, tuned: { try $0.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: dx, choice: choice) },
                           plain: { try ctx.backend.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: dx) })
                return try ctx.read(dx)
            },
        ]
    }

    /// Winograd (F(2x2, 3x3) or F(4x4, 3x3), or for stride 2 F(4x4, 2x2) over the phases, as `choice` and `s` say) chosen
    /// explicitly, with both scales (the split modconv's form), against the reference's default launch: forward,
    /// grad-input, and grad-weight with its reduction in `choice.splits` chunks.
    static func winogradScaledCases(_ s: Conv2dShape, _ choice: KernelChoice, quick: Bool) -> [SelfTestCase] {
        let desc = convDescription(s) + " IN_SCALE OUT_SCALE \(choice)"
        @Sendable func operands(_ ctx: SelfTestContext) throws -> (x: any Buffer, w: any Buffer, dy: any Buffer, a: any Buffer, b: any Buffer) {
            (try ctx.input(s.inputCount, seed: 4), try ctx.input(s.weightCount, seed: 5), try ctx.input(s.outputCount, seed: 6),
             try ctx.input(s.batch * s.inChannels, seed: 10, in: -1.5...1.5), try ctx.input(s.batch * s.outChannels, seed: 11, in: 0.3...1.5))
        }
        /// The case of one kernel: `run(ctx, operands, output)` fills the poisoned `count`-element output.
        func kernelCase(_ kernel: String, _ count: Int,
                        _ run: @escaping @Sendable (SelfTestContext, (x: any Buffer, w: any Buffer, dy: any Buffer, a: any Buffer, b: any Buffer),
                                                    any Buffer) throws -> Void) -> SelfTestCase {
            SelfTestCase(family: "conv2d scaled \(kernel) winograd", shape: desc, quick: quick) { ctx in
                let out = try ctx.poisoned(count)
                try run(ctx, try operands(ctx), out)
                return try ctx.read(out)
            }
        }
        return [
            kernelCase("fwd", s.outputCount) { ctx, o, y in
                try launch(ctx, tuned: { try $0.scaledConv2d(s, input: o.x, weight: o.w, inScale: o.a, outScale: o.b, output: y, choice: choice) },
                           plain: { try ctx.backend.scaledConv2d(s, input: o.x, weight: o.w, inScale: o.a, outScale: o.b, output: y) })
            },
            kernelCase("grad-input", s.inputCount) { ctx, o, dx in
                try launch(ctx, tuned: { try $0.scaledConv2dGradInput(s, gradOutput: o.dy, weight: o.w, inScale: o.a, outScale: o.b,
                                                                      gradInput: dx, choice: choice) },
                           plain: { try ctx.backend.scaledConv2dGradInput(s, gradOutput: o.dy, weight: o.w, inScale: o.a, outScale: o.b,
                                                                          gradInput: dx) })
            },
            kernelCase("grad-weight", s.weightCount) { ctx, o, dw in
                try launch(ctx, tuned: { try $0.scaledConv2dGradWeight(s, input: o.x, gradOutput: o.dy, inScale: o.a, outScale: o.b,
                                                                       gradWeight: dw, choice: choice) },
                           plain: { try ctx.backend.scaledConv2dGradWeight(s, input: o.x, gradOutput: o.dy, inScale: o.a, outScale: o.b,
                                                                           gradWeight: dw) })
            },
        ]
    }

    /// Every tuner tile on an odd shape (the two tiles only the tuner picks in the quick subset), split-K 3 and 8,
    /// Winograd, and every GEMM micro-tile.
    static let tuningCases: [SelfTestCase] =
        ConvTile.candidates.flatMap { tile in
            tunedCases(tunedConvShape, KernelChoice(conv: tile), quick: tile == .wide || tile == .small)
        }
        + tunedCases(vectorConvShape, KernelChoice(conv: .large), quick: false)
        + tunedCases(vectorConvShape, KernelChoice(conv: .tall, splits: 2), quick: false)
        + tunedCases(splitConvShape, KernelChoice(conv: .tall, splits: 3), quick: true)
        + tunedCases(splitConvShape, KernelChoice(conv: .thin, splits: 8), quick: false)
        + tunedCases(splitStrideShape, KernelChoice(conv: .tall, splits: 3), quick: false)
        + tunedCases(splitStrideShape, KernelChoice(conv: .thin, splits: 8), quick: false)
        // Winograd F(2x2, 3x3) and F(4x4, 3x3): odd H and W (ragged blocks), channels no multiples of 4; grad-weight in
        // 1 and 3 chunks.
        + tunedCases(tunedConvShape, KernelChoice(winogradSplits: 1), quick: true)
        + winogradScaledCases(vectorConvShape, KernelChoice(winogradSplits: 3), quick: false)
        + tunedCases(tunedConvShape, KernelChoice(winogradSplits: 1, algorithm: .winograd4x4), quick: true)
        + winogradScaledCases(vectorConvShape, KernelChoice(winogradSplits: 3, algorithm: .winograd4x4), quick: false)
        // F(4x4, 2x2) over the stride phases of 3x3 stride-2 convs, padding 0 and 1; grad-weight in 1 and 3 chunks.
        + tunedCases(phasedConvShape, KernelChoice(winogradSplits: 1, algorithm: .winograd4x4), quick: true)
        + winogradScaledCases(phasedPaddedShape, KernelChoice(winogradSplits: 3, algorithm: .winograd4x4), quick: false)
        + GemmTile.candidates.map { tile in
            let s = GemmShape(m: 33, n: 47, k: 70, transB: true, batch: 2)
            return SelfTestCase(family: "gemm tuned", shape: "33x47x70 NT batch 2 tile \(tile)", quick: tile == GemmTile(tm: 4, tn: 8)) { ctx in
                let a = try ctx.input(s.batch * s.m * s.k, seed: 1), b = try ctx.input(s.batch * s.k * s.n, seed: 2)
                let c = try ctx.poisoned(s.batch * s.m * s.n)
                if let cl = ctx.backend as? OpenCLBackend {
                    try cl.gemm(s, a: a, b: b, c: c, tile: tile)
                } else { try ctx.backend.gemm(s, a: a, b: b, c: c) }
                return try ctx.read(c)
            }
        }
}
