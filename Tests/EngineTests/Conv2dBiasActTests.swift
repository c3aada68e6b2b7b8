import Engine
import TestSupport
import XCTest

/// `conv2dBiasAct`: the convolution with bias_act in its store (conv2d.cl `-D EPILOGUE`) against the float64
/// convolution and bias_act references, against the two separate launches bit for bit, on both backends; and the
/// op's gradients (first and second order) against the two-op composition.
final class Conv2dBiasActTests: XCTestCase {
    /// (shape, bias, act): stride 1 with odd sizes, stride 2 without padding, groups 2, and a 4×4 output whose
    /// reduction the backend splits (then it falls back to the split conv and a separate bias_act); the last two with
    /// a weight gain, which comes before the bias.
    static let cases: [(Conv2dShape, bias: Bool, act: BiasActShape?)] = {
        let shapes = [Conv2dShape(batch: 2, inChannels: 5, outChannels: 7, height: 9, width: 6, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
                      Conv2dShape(batch: 3, inChannels: 4, outChannels: 6, height: 9, width: 8, kernelH: 3, kernelW: 3, stride: 2,
                                  weightGain: 0.37),
                      Conv2dShape(batch: 2, inChannels: 6, outChannels: 4, height: 5, width: 7, kernelH: 1, kernelW: 1, groups: 2),
                      Conv2dShape(batch: 1, inChannels: 40, outChannels: 3, height: 4, width: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                                  weightGain: 0.37)]
        return shapes.flatMap { s in
            let inner = s.outHeight * s.outWidth
            return [(s, true, BiasActShape(count: s.outputCount, channels: s.outChannels, inner: inner, activation: .leakyReLU, clamp: 0.9)),
                    (s, false, BiasActShape(count: s.outputCount, channels: s.outChannels, inner: inner, activation: .linear, gain: 0.7))]
        }.map { ($0.0, bias: $0.1, act: $0.2) }
    }()

    func testMatchesReferenceAndTheTwoLaunches() throws {
        for backend in TestBackends.all {
            for (index, c) in Self.cases.enumerated() {
                let (s, act) = (c.0, c.act!)
                let d = Conv2dTests.Data(s, seed: 700 + UInt64(index))
                var rng = TestRNG(seed: 720 + UInt64(index))
                let b = c.bias ? rng.floats(s.outChannels) : nil
                let x = try backend.buffer(d.x), w = try backend.buffer(d.w), bias = try b.map { try backend.buffer($0) }
                let fused = try backend.poisoned(s.outputCount)
                try backend.conv2dBiasAct(s, input: x, weight: w, bias: bias, act: act, output: fused)
                let conv = ConvReference.forward(s, x: d.x, w: d.w)
                let want = conv.indices.map { i in
                    BiasActTests.reference(conv[i], bias: b.map { Double($0[(i / act.inner) % act.channels]) } ?? 0, act)
                }
                let what = "\(backend.label) \(s) bias \(c.bias) \(act.activation)"
                let got = try backend.array(fused)
                assertClose(got, want, tolerance: 1e-5, what)
                // The two launches it replaces.
                let y = try backend.poisoned(s.outputCount), two = try backend.poisoned(s.outputCount)
                try backend.conv2d(s, input: x, weight: w, output: y)
                try backend.biasAct(act, x: y, bias: bias, y: two)
                XCTAssertEqual(got.map(\.bitPattern), try backend.array(two).map(\.bitPattern), "\(what): not the two ops' bits")
            }
        }
    }

    func testRejectsAMismatchedLayout() throws {
        for backend in TestBackends.all {
            let s = Self.cases[0].0
            let x = try backend.allocate(s.inputCount), w = try backend.allocate(s.weightCount), y = try backend.allocate(s.outputCount)
            let wrong = BiasActShape(count: s.outputCount, channels: 1, inner: s.outputCount, activation: .linear, noise: .shared)
            let xt = try Tensor.zeros([s.batch, s.inChannels, s.height, s.width], on: backend)
            let wt = try Tensor.zeros([s.outChannels, s.inChannels, s.kernelH, s.kernelW], on: backend)
            XCTAssertThrowsError(try Tensor.conv2dBiasAct(xt, weight: wt, padding: 1, bias: Tensor.zeros([s.outChannels + 1], on: backend)),
                                 "\(backend.label): bias of the wrong size")
            if backend is OpenCLBackend {
                XCTAssertThrowsError(try backend.conv2dBiasAct(s, input: x, weight: w, bias: nil, act: wrong, output: y), backend.label)
            }
        }
    }

    /// Values and gradients of x, weight and bias equal the composition `conv2d(...).biasAct(...)`, also second
    /// order (the R1 penalty differentiates the gradient w.r.t. the input).
    func testGradientsMatchTheComposition() throws {
        var rng = TestRNG(seed: 730)
        for backend in TestBackends.all {
            for s in [Self.cases[0].0, Self.cases[2].0] {
                let t = try Operands(s, &rng, backend)
                let fused = try Tensor.conv2dBiasAct(t.x, weight: t.w, stride: s.stride, padding: s.padH, groups: s.groups,
                                                     bias: t.b, activation: .leakyReLU, clamp: 1.5)
                let composed = try Tensor.conv2d(t.x, weight: t.w, stride: s.stride, padding: s.padH, groups: s.groups)
                    .biasAct(bias: t.b, activation: .leakyReLU, clamp: 1.5)
                let what = "\(backend.label) \(s)"
                XCTAssertEqual(try fused.array(), try composed.array(), "\(what): values")
                try t.compareGradients(fused, composed, what)
            }
        }
    }

    /// `weightGain: g` equals the weight g·w as a tensor of its own (the elementwise product, gain 1): values and the
    /// gradients of x, w and bias, first and second order, for conv2dBiasAct and for plain conv2d (the discriminator's
    /// skips), stride 1 and stride 2. A gain left out of any kernel or VJP fails by a factor of g.
    func testWeightGainMatchesTheScaledWeight() throws {
        var rng = TestRNG(seed: 740)
        let g: Float = 0.37
        for backend in TestBackends.all {
            for s in [Self.cases[0].0, Self.cases[2].0] {
                let t = try Operands(s, &rng, backend)
                let (stride, pad, groups) = (s.stride, s.padH, s.groups), b4 = try t.b.reshaped([1, s.outChannels, 1, 1])
                let pairs = [
                    ("conv2dBiasAct",
                     try Tensor.conv2dBiasAct(t.x, weight: t.w, stride: stride, padding: pad, groups: groups, weightGain: g,
                                              bias: t.b, activation: .leakyReLU),
                     try Tensor.conv2dBiasAct(t.x, weight: t.w * g, stride: stride, padding: pad, groups: groups, bias: t.b,
                                              activation: .leakyReLU)),
                    ("conv2d",
                     try Tensor.conv2d(t.x, weight: t.w, stride: stride, padding: pad, groups: groups, weightGain: g) + b4,
                     try Tensor.conv2d(t.x, weight: t.w * g, stride: stride, padding: pad, groups: groups) + b4),
                ]
                for (op, gained, scaled) in pairs {
                    let what = "\(backend.label) \(op) \(s)"
                    assertClose(try gained.array(), try scaled.array(), tolerance: 1e-6, "\(what): values")
                    try t.compareGradients(gained, scaled, what)
                }
            }
        }
    }

    /// Random x, weight and bias of a conv of shape `s` (requiring gradients) and a probe of its output's shape.
    struct Operands {
        let x: Tensor, w: Tensor, b: Tensor, probe: Tensor

        init(_ s: Conv2dShape, _ rng: inout TestRNG, _ backend: any Backend) throws {
            x = try Tensor(rng.floats(s.inputCount), shape: [s.batch, s.inChannels, s.height, s.width], on: backend).requiringGrad()
            w = try Tensor(rng.floats(s.weightCount), shape: [s.outChannels, s.inChannels / s.groups, s.kernelH, s.kernelW],
                           on: backend).requiringGrad()
            b = try Tensor(rng.floats(s.outChannels), shape: [s.outChannels], on: backend).requiringGrad()
            probe = try Tensor(rng.floats(s.outputCount), shape: [s.batch, s.outChannels, s.outHeight, s.outWidth], on: backend)
        }

        /// The gradients of Σ probe·y w.r.t. x, weight and bias of `y` and `reference` agree (1e-6), and so do those of
        /// the R1-like Σ (∂/∂x)² w.r.t. the weight (1e-5).
        func compareGradients(_ y: Tensor, _ reference: Tensor, _ what: String) throws {
            let gy = try Autograd.gradients(of: (y * probe).sum(), wrt: [x, w, b], createGraph: true)
            let gr = try Autograd.gradients(of: (reference * probe).sum(), wrt: [x, w, b], createGraph: true)
            for i in 0..<3 { assertClose(try gy[i]!.array(), try gr[i]!.array(), tolerance: 1e-6, "\(what): gradient \(i)") }
            let ry = try Autograd.gradients(of: gy[0]!.sumOfSquares(), wrt: [w])[0]!
            let rr = try Autograd.gradients(of: gr[0]!.sumOfSquares(), wrt: [w])[0]!
            assertClose(try ry.array(), try rr.array(), tolerance: 1e-5, "\(what): second order")
        }
    }
}
