import Engine
import Foundation

// The self-test's cases: every kernel family of Sources/Kernels/*.cl on shapes that are not multiples of any
// tile size (odd sizes, 1s, broadcasts, offsets, negative pads), taken from the parity suite in
// Tests/EngineTests. Few distinct `-D` specialisations per family, since each is one program build.

extension SelfTest {
    /// Every case, grouped by family in `.cl` file order.
    public static let cases: [SelfTestCase] =
        gemmCases + conv2dCases + scaledConv2dCases + tuningCases + modconvCases + upfirdn2dCases + biasActCases + elementwiseCases
        + reduceCases + layoutCases + randomCases + optimizerCases + histogramCases + batchNormCases + logSoftmaxCases
        + minibatchStddevCases

    /// `[a,b,c]`.
    static func dims(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }

    // MARK: - gemm.cl

    static let gemmCases: [SelfTestCase] = [
        gemm(GemmShape(m: 1, n: 1, k: 1), quick: false),
        gemm(GemmShape(m: 17, n: 33, k: 65)),
        gemm(GemmShape(m: 63, n: 65, k: 129, transA: true), quick: false),
        gemm(GemmShape(m: 33, n: 47, k: 70, transB: true, batch: 3, alpha: 0.5, beta: 0.75)),
        gemm(GemmShape(m: 4, n: 1000, k: 37, transA: true, transB: true), quick: false),
        gemm(GemmShape(m: 129, n: 257, k: 300), tolerance: 1e-4, quick: false),
        // float4 loads (-D VEC_LOADS): the contiguous extents are multiples of 4, the others ragged.
        gemm(GemmShape(m: 37, n: 68, k: 36)),
        gemm(GemmShape(m: 36, n: 20, k: 23, transA: true, batch: 2), quick: false),
        gemm(GemmShape(m: 13, n: 27, k: 40, transB: true, alpha: 0.5, beta: 0.75), quick: false),
        gemm(GemmShape(m: 44, n: 29, k: 52, transA: true, transB: true), quick: false),
    ]

    static func gemm(_ s: GemmShape, tolerance: Double = 1e-5, quick: Bool = true) -> SelfTestCase {
        let t = (s.transA ? "T" : "N") + (s.transB ? "T" : "N")
        var desc = "\(s.m)x\(s.n)x\(s.k) \(t)"
        if s.batch > 1 { desc += " batch \(s.batch)" }
        if s.alpha != 1 || s.beta != 0 { desc += " α \(s.alpha) β \(s.beta)" }
        if OpenCLBackend.gemmVectorLoads(s) { desc += " float4" }
        return SelfTestCase(family: "gemm", shape: desc, tolerance: tolerance, quick: quick) { ctx in
            let a = try ctx.input(s.batch * s.m * s.k, seed: 1), b = try ctx.input(s.batch * s.k * s.n, seed: 2)
            let c = s.beta != 0 ? try ctx.input(s.batch * s.m * s.n, seed: 3) : try ctx.poisoned(s.batch * s.m * s.n)
            try ctx.backend.gemm(s, a: a, b: b, c: c)
            return try ctx.read(c)
        }
    }

    // MARK: - conv2d.cl

    static let conv2dShapes: [(Conv2dShape, quick: Bool)] = [
        (Conv2dShape(batch: 2, inChannels: 3, outChannels: 5, height: 13, width: 11, kernelH: 3, kernelW: 3, padH: 1, padW: 1), true),
        // With the discriminator's equalized-lr weight gain (multiplied in every kernel's store).
        (Conv2dShape(batch: 1, inChannels: 4, outChannels: 6, height: 17, width: 9, kernelH: 3, kernelW: 3, stride: 2, padH: 1, padW: 1,
                     weightGain: 0.37), false),
        (Conv2dShape(batch: 2, inChannels: 6, outChannels: 4, height: 8, width: 7, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2), false),
        (Conv2dShape(batch: 3, inChannels: 5, outChannels: 7, height: 9, width: 10, kernelH: 1, kernelW: 1), false),
        // float4 A loads (-D FWD_VEC_A, GW_VEC_A): K = 36 and outH·outW = 36 multiples of 4, 20 rows on a 64-row tile.
        (Conv2dShape(batch: 2, inChannels: 4, outChannels: 20, height: 6, width: 6, kernelH: 3, kernelW: 3, padH: 1, padW: 1), true),
        // Grouped, forward float4 only (K = 72; outH·outW = 30).
        (Conv2dShape(batch: 2, inChannels: 16, outChannels: 40, height: 6, width: 5, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                     groups: 2), false),
    ]

    /// `[N,C,H,W] * [O,C/G,kh,kw] s2 p1 g2 gain 0.37` (stride and padding always, groups and weight gain where not 1).
    static func convDescription(_ s: Conv2dShape) -> String {
        dims([s.batch, s.inChannels, s.height, s.width]) + " * " + dims([s.outChannels, s.inChannels / s.groups, s.kernelH, s.kernelW])
            + " s\(s.stride) p\(s.padH)" + (s.groups > 1 ? " g\(s.groups)" : "") + (s.weightGain != 1 ? " gain \(s.weightGain)" : "")
    }

    static let conv2dCases: [SelfTestCase] = conv2dShapes.flatMap { s, quick in
        let desc = convDescription(s)
        return [
            SelfTestCase(family: "conv2d fwd", shape: desc, quick: quick) { ctx in
                let x = try ctx.input(s.inputCount, seed: 4), w = try ctx.input(s.weightCount, seed: 5)
                let y = try ctx.poisoned(s.outputCount)
                try ctx.backend.conv2d(s, input: x, weight: w, output: y)
                return try ctx.read(y)
            },
            // The discriminator's layers: bias, leaky ReLU·√2 and clamp in the store (-D EPILOGUE).
            SelfTestCase(family: "conv2d fwd+bias_act", shape: desc + " lrelu clamp 0.9", quick: quick) { ctx in
                let x = try ctx.input(s.inputCount, seed: 4), w = try ctx.input(s.weightCount, seed: 5)
                let b = try ctx.input(s.outChannels, seed: 7), y = try ctx.poisoned(s.outputCount)
                let act = BiasActShape(count: s.outputCount, channels: s.outChannels, inner: s.outHeight * s.outWidth,
                                       activation: .leakyReLU, clamp: 0.9)
                try ctx.backend.conv2dBiasAct(s, input: x, weight: w, bias: b, act: act, output: y)
                return try ctx.read(y)
            },
            SelfTestCase(family: "conv2d grad-input", shape: desc, quick: quick) { ctx in
                let dy = try ctx.input(s.outputCount, seed: 6), w = try ctx.input(s.weightCount, seed: 5)
                let dx = try ctx.poisoned(s.inputCount)
                try ctx.backend.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: dx)
                return try ctx.read(dx)
            },
            SelfTestCase(family: "conv2d grad-weight", shape: desc, quick: quick) { ctx in
                let x = try ctx.input(s.inputCount, seed: 4), dy = try ctx.input(s.outputCount, seed: 6)
                let dw = try ctx.poisoned(s.weightCount)
                try ctx.backend.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: dw)
                return try ctx.read(dw)
            },
        ]
    }

    // MARK: - conv2d.cl with -D IN_SCALE / -D OUT_SCALE (split modulated convolution)

    /// (shape, inScale, outScale): both options, each alone, and the stride-2 form of the up-sampling layer.
    static let scaledConv2dShapes: [(Conv2dShape, inScale: Bool, outScale: Bool, quick: Bool)] = [
        (Conv2dShape(batch: 3, inChannels: 5, outChannels: 7, height: 5, width: 6, kernelH: 3, kernelW: 3, padH: 1, padW: 1), true, true, true),
        (Conv2dShape(batch: 3, inChannels: 7, outChannels: 5, height: 11, width: 13, kernelH: 3, kernelW: 3, stride: 2), true, true, false),
        (Conv2dShape(batch: 2, inChannels: 6, outChannels: 3, height: 7, width: 5, kernelH: 3, kernelW: 3, padH: 1, padW: 1), true, false, false),
        (Conv2dShape(batch: 3, inChannels: 5, outChannels: 3, height: 9, width: 10, kernelH: 1, kernelW: 1), false, true, false),
        // float4 A loads with both scales (grad-weight's dy vectors times outScale).
        (Conv2dShape(batch: 3, inChannels: 8, outChannels: 20, height: 5, width: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1), true, true, false),
    ]

    static let scaledConv2dCases: [SelfTestCase] = scaledConv2dShapes.flatMap { s, hasIn, hasOut, quick in
        let desc = convDescription(s) + (hasIn ? " IN_SCALE" : "") + (hasOut ? " OUT_SCALE" : "")
        @Sendable func scales(_ ctx: SelfTestContext) throws -> (in: (any Buffer)?, out: (any Buffer)?) {
            (hasIn ? try ctx.input(s.batch * s.inChannels, seed: 10, in: -1.5...1.5) : nil,
             hasOut ? try ctx.input(s.batch * s.outChannels, seed: 11, in: 0.3...1.5) : nil)
        }
        return [
            SelfTestCase(family: "conv2d scaled fwd", shape: desc, quick: quick) { ctx in
                let x = try ctx.input(s.inputCount, seed: 4), w = try ctx.input(s.weightCount, seed: 5), sc = try scales(ctx)
                let y = try ctx.poisoned(s.outputCount)
                try ctx.backend.scaledConv2d(s, input: x, weight: w, inScale: sc.in, outScale: sc.out, output: y)
                return try ctx.read(y)
            },
            SelfTestCase(family: "conv2d scaled grad-input", shape: desc, quick: quick) { ctx in
                let dy = try ctx.input(s.outputCount, seed: 6), w = try ctx.input(s.weightCount, seed: 5), sc = try scales(ctx)
                let dx = try ctx.poisoned(s.inputCount)
                try ctx.backend.scaledConv2dGradInput(s, gradOutput: dy, weight: w, inScale: sc.in, outScale: sc.out, gradInput: dx)
                return try ctx.read(dx)
            },
            SelfTestCase(family: "conv2d scaled grad-weight", shape: desc, quick: quick) { ctx in
                let x = try ctx.input(s.inputCount, seed: 4), dy = try ctx.input(s.outputCount, seed: 6), sc = try scales(ctx)
                let dw = try ctx.poisoned(s.weightCount)
                try ctx.backend.scaledConv2dGradWeight(s, input: x, gradOutput: dy, inScale: sc.in, outScale: sc.out, gradWeight: dw)
                return try ctx.read(dw)
            },
        ]
    }

    // MARK: - modconv.cl

    static let modconvShapes: [(ModulateShape, quick: Bool)] = [
        (ModulateShape(batch: 2, outChannels: 3, inChannels: 7, kernelSize: 9), true),
        (ModulateShape(batch: 3, outChannels: 6, inChannels: 5, kernelSize: 1, demodulate: false), false),
        (ModulateShape(batch: 3, outChannels: 4, inChannels: 300, kernelSize: 1), false),
        (ModulateShape(batch: 2, outChannels: 30, inChannels: 6, kernelSize: 9), false),
    ]

    static let modconvCases: [SelfTestCase] = modconvShapes.flatMap { s, quick in
        let desc = "N\(s.batch) O\(s.outChannels) I\(s.inChannels) K\(s.kernelSize)" + (s.demodulate ? " demod" : "")
        return [
            SelfTestCase(family: "modconv modulate fwd", shape: desc, quick: quick) { ctx in
                let w = try ctx.input(s.weightCount, seed: 7), st = try ctx.input(s.batch * s.inChannels, seed: 8, in: 0.2...1.5)
                let out = try ctx.poisoned(s.modulatedCount)
                try ctx.backend.modulateWeights(s, weight: w, styles: st, modulated: out)
                return try ctx.read(out)
            },
            SelfTestCase(family: "modconv modulate bwd", shape: desc, tolerance: 1e-4, quick: quick) { ctx in
                let w = try ctx.input(s.weightCount, seed: 7), st = try ctx.input(s.batch * s.inChannels, seed: 8, in: 0.2...1.5)
                let g = try ctx.input(s.modulatedCount, seed: 9)
                let gw = try ctx.poisoned(s.weightCount), gs = try ctx.poisoned(s.batch * s.inChannels)
                try ctx.backend.modulateWeightsBackward(s, weight: w, styles: st, gradModulated: g, gradWeight: gw, gradStyles: gs)
                return try ctx.read(gw, gs)
            },
            SelfTestCase(family: "modconv demodulate fwd", shape: desc, quick: quick) { ctx in
                let w = try ctx.input(s.weightCount, seed: 7), st = try ctx.input(s.batch * s.inChannels, seed: 8, in: 0.2...1.5)
                let d = try ctx.poisoned(s.batch * s.outChannels)
                try ctx.backend.demodulation(s, weight: w, styles: st, coefficients: d)
                return try ctx.read(d)
            },
            SelfTestCase(family: "modconv demodulate bwd", shape: desc, tolerance: 1e-4, quick: quick) { ctx in
                let w = try ctx.input(s.weightCount, seed: 7), st = try ctx.input(s.batch * s.inChannels, seed: 8, in: 0.2...1.5)
                let d = try ctx.input(s.batch * s.outChannels, seed: 12, in: 0.2...2), g = try ctx.input(s.batch * s.outChannels, seed: 13)
                let gw = try ctx.poisoned(s.weightCount), gs = try ctx.poisoned(s.batch * s.inChannels)
                try ctx.backend.demodulationBackward(s, weight: w, styles: st, coefficients: d, gradCoefficients: g,
                                                     gradWeight: gw, gradStyles: gs)
                return try ctx.read(gw, gs)
            },
        ]
    }

    // MARK: - upfirdn2d.cl

    /// `up`/`down` as (x, y).
    static func upfirdn(planes: Int, _ h: Int, _ w: Int, up: (Int, Int) = (1, 1), down: (Int, Int) = (1, 1),
                        pad: (Int, Int, Int, Int), filter: (h: Int, w: Int), flip: Bool = false, gain: Float = 1) -> Upfirdn2dShape {
        var s = Upfirdn2dShape(planes: planes, inHeight: h, inWidth: w, pad: pad, filterH: filter.h, filterW: filter.w,
                               flipFilter: flip, gain: gain)
        s.upX = up.0; s.upY = up.1; s.downX = down.0; s.downY = down.1
        return s
    }

    static let upfirdn2dShapes: [(String, Upfirdn2dShape, quick: Bool)] = [
        ("up", upfirdn(planes: 3, 7, 9, up: (2, 2), pad: (2, 1, 2, 1), filter: (4, 4), gain: 4), true),
        ("down", upfirdn(planes: 5, 17, 12, down: (2, 2), pad: (1, 1, 1, 1), filter: (4, 4)), true),
        ("up", upfirdn(planes: 70, 2, 2, up: (2, 2), pad: (2, 1, 2, 1), filter: (4, 4), gain: 4), false),
        ("up", upfirdn(planes: 2, 11, 17, up: (2, 2), pad: (-1, -1, 2, 1), filter: (4, 4), gain: 4), false),
        ("up+down", upfirdn(planes: 2, 9, 7, up: (3, 3), down: (2, 2), pad: (-2, 1, 3, -1), filter: (5, 4), flip: true), false),
    ]

    static let upfirdn2dCases: [SelfTestCase] = upfirdn2dShapes.map { kind, s, quick in
        let desc = dims([s.planes, s.inHeight, s.inWidth]) + " up\(s.upX)x\(s.upY) down\(s.downX)x\(s.downY)"
            + " pad \(s.padX0),\(s.padX1),\(s.padY0),\(s.padY1) f\(s.filterH)x\(s.filterW)" + (s.flipFilter ? " flip" : "")
        return SelfTestCase(family: "upfirdn2d \(kind)", shape: desc, quick: quick) { ctx in
            let x = try ctx.input(s.planes * s.inHeight * s.inWidth, seed: 10)
            let f = try ctx.input(s.filterH * s.filterW, seed: 11, in: 0...0.5)
            let y = try ctx.poisoned(s.outputCount)
            try ctx.backend.upfirdn2d(s, input: x, filter: f, output: y)
            return try ctx.read(y)
        }
    }

    // MARK: - bias_act.cl

    static let biasActShapes: [(BiasActShape, bias: Bool, quick: Bool)] = [
        (BiasActShape(count: 105, channels: 5, inner: 7, activation: .linear), true, false),
        (BiasActShape(count: 105, channels: 5, inner: 7, activation: .leakyReLU), true, true),
        (BiasActShape(count: 444, channels: 4, inner: 37, activation: .leakyReLU, alpha: 0.1, gain: 1.3, clamp: 0.9), true, false),
        (BiasActShape(count: 1001, channels: 7, inner: 11, activation: .linear, gain: 0.75, clamp: 0.6), false, false),
        // The synthesis layers' epilogue: noise per sample (training) and one shared plane (generation).
        (BiasActShape(count: 3 * 5 * 37, channels: 5, inner: 37, activation: .leakyReLU, clamp: 0.9, noise: .perSample), true, true),
        (BiasActShape(count: 2 * 6 * 81, channels: 6, inner: 81, activation: .leakyReLU, noise: .shared), true, false),
        // 2·9001 elements per channel: the gradient's bias sum runs in chunks (two passes).
        (BiasActShape(count: 2 * 3 * 9001, channels: 3, inner: 9001, activation: .leakyReLU, clamp: 0.9), true, false),
    ]

    static let biasActCases: [SelfTestCase] = biasActShapes.flatMap { s, hasBias, quick in
        var desc = "\(s.count) C\(s.channels) inner \(s.inner) \(s.activation == .linear ? "linear" : "lrelu \(s.alpha)") gain \(String(format: "%g", s.gain))"
        if s.clamp >= 0 { desc += " clamp \(s.clamp)" }
        if !hasBias { desc += " no bias" }
        if let noise = s.noise { desc += " noise \(noise)" }
        let noiseCount = s.noise == .shared ? s.inner : s.count / max(s.channels, 1)
        return [
            SelfTestCase(family: "bias_act fwd", shape: desc, quick: quick) { ctx in
                let x = try ctx.input(s.count, seed: 12), b = hasBias ? try ctx.input(s.channels, seed: 13) : nil
                let noise = s.noise == nil ? nil : try ctx.input(noiseCount, seed: 16)
                let strength = s.noise == nil ? nil : try ctx.buffer([0.7])
                let y = try ctx.poisoned(s.count)
                try ctx.backend.biasAct(s, x: x, bias: b, noise: noise, noiseStrength: strength, y: y)
                return try ctx.read(y)
            },
            SelfTestCase(family: "bias_act grad", shape: desc, quick: quick) { ctx in
                // y from the reference formula's range, so the clamp mask and the sign both matter.
                let y = try ctx.input(s.count, seed: 14, in: -1.2...1.2), dy = try ctx.input(s.count, seed: 15)
                let dx = try ctx.poisoned(s.count)
                try ctx.backend.biasActGrad(s, gradY: dy, y: y, gradX: dx)
                return try ctx.read(dx)
            },
        ] + (hasBias ? [
            // The gradient with the bias's sum in the same pass (reduce.cl -D BIAS_ACT_GRAD on OpenCL).
            SelfTestCase(family: "bias_act grad+sum", shape: desc, quick: quick) { ctx in
                let y = try ctx.input(s.count, seed: 14, in: -1.2...1.2), dy = try ctx.input(s.count, seed: 15)
                let dx = try ctx.poisoned(s.count), db = try ctx.poisoned(s.channels)
                try ctx.backend.biasActGradSum(s, gradY: dy, y: y, gradX: dx, gradBias: db)
                return try ctx.read(dx, db)
            },
        ] : [])
    }
}
