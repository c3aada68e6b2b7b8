import Engine
import TestSupport
import XCTest

/// conv2d.cl with `-D IN_SCALE` / `-D OUT_SCALE` and CPUBackend+ScaledConv2d: the three scaled kernels against
/// naive Double loops, OpenCL-vs-CPU parity with poisoned outputs, the Tensor ops' gradients and second
/// derivatives by finite differences, and the split modulated convolution against Double modconv references.
final class ScaledConv2dTests: XCTestCase {
    /// (shape, with inScale, with outScale): awkward sizes; 1×1 takes the CPU's direct GEMM path; the stride-2
    /// unpadded 3×3 is the convolution whose grad-input is the up-sampling layer's transposed convolution.
    static let cases: [(Conv2dShape, Bool, Bool)] = {
        let s3 = Conv2dShape(batch: 3, inChannels: 5, outChannels: 7, height: 5, width: 6, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        return [
            (s3, true, true), (s3, true, false), (s3, false, true),
            (Conv2dShape(batch: 3, inChannels: 5, outChannels: 7, height: 5, width: 6, kernelH: 1, kernelW: 1), true, true),
            (Conv2dShape(batch: 3, inChannels: 7, outChannels: 5, height: 11, width: 13, kernelH: 3, kernelW: 3, stride: 2), true, true),
        ]
    }()

    struct Data {
        let x: [Float], w: [Float], dy: [Float], a: [Float]?, b: [Float]?
        init(_ s: Conv2dShape, inScale: Bool, outScale: Bool, seed: UInt64) {
            var rng = TestRNG(seed: seed)
            x = rng.floats(s.inputCount)
            w = rng.floats(s.weightCount)
            dy = rng.floats(s.outputCount)
            a = inScale ? rng.floats(s.batch * s.inChannels, -1.5, 1.5) : nil
            b = outScale ? rng.floats(s.batch * s.outChannels, 0.3, 1.5) : nil
        }
    }

    /// y, dx, dw of the scaled kernels of one backend, outputs NaN-poisoned first.
    static func run(_ backend: any Backend, _ s: Conv2dShape, _ d: Data) throws -> (y: [Float], dx: [Float], dw: [Float]) {
        let x = try backend.buffer(d.x), w = try backend.buffer(d.w), dy = try backend.buffer(d.dy)
        let a = try d.a.map { try backend.buffer($0) }, b = try d.b.map { try backend.buffer($0) }
        let y = try backend.poisoned(s.outputCount), dx = try backend.poisoned(s.inputCount), dw = try backend.poisoned(s.weightCount)
        try backend.scaledConv2d(s, input: x, weight: w, inScale: a, outScale: b, output: y)
        try backend.scaledConv2dGradInput(s, gradOutput: dy, weight: w, inScale: a, outScale: b, gradInput: dx)
        try backend.scaledConv2dGradWeight(s, input: x, gradOutput: dy, inScale: a, outScale: b, gradWeight: dw)
        return (try backend.array(y), try backend.array(dx), try backend.array(dw))
    }

    func testScaledKernelsMatchNaiveLoops() throws {
        for (index, (s, hasA, hasB)) in Self.cases.enumerated() {
            let d = Data(s, inScale: hasA, outScale: hasB, seed: UInt64(600 + index))
            let want = ScaledConvReference.all(s, d)
            for backend in TestBackends.all {
                let got = try Self.run(backend, s, d)
                assertClose(got.y, want.y, tolerance: 1e-5, "\(backend.label) scaledConv2d \(s) in \(hasA) out \(hasB)")
                assertClose(got.dx, want.dx, tolerance: 1e-5, "\(backend.label) scaledConv2dGradInput \(s) in \(hasA) out \(hasB)")
                assertClose(got.dw, want.dw, tolerance: 1e-5, "\(backend.label) scaledConv2dGradWeight \(s) in \(hasA) out \(hasB)")
            }
        }
    }

    /// The split-K forward (`conv2d_fwd` over several K ranges plus `conv2d_sum_splits`, chosen by a tuning table for the 4×4 and 8×8 layers) with both
    /// scales: every split count against the Double loop, outputs poisoned.
    func testScaledSplitKForwardMatchesNaiveLoop() throws {
        guard let cl = try TestBackends.requireOpenCL() as? OpenCLBackend else { return XCTFail("not an OpenCL backend") }
        let s = Conv2dShape(batch: 2, inChannels: 40, outChannels: 9, height: 4, width: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        let d = Data(s, inScale: true, outScale: true, seed: 650)
        let want = ScaledConvReference.all(s, d).y
        for splits in [2, 3, 8] {
            let y = try cl.poisoned(s.outputCount)
            try cl.scaledConv2d(s, input: try cl.buffer(d.x), weight: try cl.buffer(d.w), inScale: try cl.buffer(d.a!),
                                outScale: try cl.buffer(d.b!), output: y, choice: KernelChoice(conv: .tall, splits: splits))
            assertClose(try cl.array(y), want, tolerance: 1e-5, "scaled split-K forward, \(splits) splits")
        }
    }

    /// Larger channel counts (medium tiles) and a long batch·pixel reduction (split-K grad-weight) as well.
    func testScaledKernelsParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        let more: [(Conv2dShape, Bool, Bool)] = [
            (Conv2dShape(batch: 2, inChannels: 40, outChannels: 70, height: 9, width: 7, kernelH: 3, kernelW: 3, padH: 1, padW: 1), true, true),
            (Conv2dShape(batch: 4, inChannels: 6, outChannels: 5, height: 16, width: 16, kernelH: 3, kernelW: 3, padH: 1, padW: 1), true, true),
        ]
        for (index, (s, hasA, hasB)) in (Self.cases + more).enumerated() {
            let d = Data(s, inScale: hasA, outScale: hasB, seed: UInt64(700 + index))
            let want = try Self.run(TestBackends.cpu, s, d), got = try Self.run(cl, s, d)
            assertClose(got.y, want.y, tolerance: 1e-5, "parity scaledConv2d \(s)")
            assertClose(got.dx, want.dx, tolerance: 1e-5, "parity scaledConv2dGradInput \(s)")
            assertClose(got.dw, want.dw, tolerance: 1e-5, "parity scaledConv2dGradWeight \(s)")
        }
    }

    func testScaledKernelsRejectShortScales() throws {
        let s = Conv2dShape(batch: 2, inChannels: 3, outChannels: 4, height: 5, width: 5, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        for backend in TestBackends.all {
            let x = try backend.allocate(s.inputCount), w = try backend.allocate(s.weightCount), y = try backend.allocate(s.outputCount)
            let short = try backend.allocate(5)
            XCTAssertThrowsError(try backend.scaledConv2d(s, input: x, weight: w, inScale: short, outScale: nil, output: y), backend.label)
            XCTAssertThrowsError(try backend.scaledConv2dGradInput(s, gradOutput: y, weight: w, inScale: nil, outScale: short, gradInput: x))
            XCTAssertThrowsError(try backend.scaledConv2dGradWeight(s, input: x, gradOutput: y, inScale: short, outScale: nil, gradWeight: w))
        }
        let x = try Tensor.zeros([2, 3, 5, 5], on: TestBackends.cpu), w = try Tensor.zeros([4, 3, 3, 3], on: TestBackends.cpu)
        XCTAssertThrowsError(try Tensor.scaledConv2d(x, weight: w, inScale: Tensor.zeros([2, 4], on: TestBackends.cpu), outScale: nil))
    }

    // MARK: - Gradients

    /// First derivatives of both Tensor ops (the fused, non-recording VJPs) for every input, with and without scales.
    func testGradientsByFiniteDifferences() throws {
        var rng = TestRNG(seed: 81)
        for backend in TestBackends.all {
            let (n, c, o) = (2, 3, 4)
            let x = GradInput(values: rng.floats(n * c * 4 * 5), shape: [n, c, 4, 5])
            let w = GradInput(values: rng.floats(o * c * 9), shape: [o, c, 3, 3])
            let a = GradInput(values: rng.floats(n * c, -1.5, 1.5), shape: [n, c])
            let b = GradInput(values: rng.floats(n * o, 0.5, 1.5), shape: [n, o])
            try checkGradients(on: backend, [x, w, a, b], "scaledConv2d") {
                try Tensor.scaledConv2d($0[0], weight: $0[1], inScale: $0[2], outScale: $0[3], padding: 1)
            }
            try checkGradients(on: backend, [x, w, b], "scaledConv2d without inScale") {
                try Tensor.scaledConv2d($0[0], weight: $0[1], inScale: nil, outScale: $0[2], padding: 1)
            }
            // The up-sampling layer's form: stride-2 transposed conv, dy [N, O, 3, 4] → [N, C, 7, 9].
            let dy = GradInput(values: rng.floats(n * o * 12), shape: [n, o, 3, 4])
            let aUp = GradInput(values: rng.floats(n * c, 0.5, 1.5), shape: [n, c])
            let bUp = GradInput(values: rng.floats(n * o, -1.5, 1.5), shape: [n, o])
            try checkGradients(on: backend, [dy, w, aUp, bUp], "scaledConv2dGradInput stride 2") {
                try Tensor.scaledConv2dGradInput($0[0], weight: $0[1], inputShape: [n, c, 7, 9], inScale: $0[2], outScale: $0[3], stride: 2)
            }
        }
    }

    /// Second derivatives (the recorded VJPs, as the path-length regulariser uses them): finite differences of the
    /// first gradients of every input, taken with `createGraph`, against their autograd gradients.
    func testSecondDerivativesByFiniteDifferences() throws {
        var rng = TestRNG(seed: 82)
        for backend in TestBackends.all {
            let (n, c, o) = (2, 3, 2)
            let w = GradInput(values: rng.floats(o * c * 9), shape: [o, c, 3, 3])
            let x = GradInput(values: rng.floats(n * c * 3 * 4), shape: [n, c, 3, 4])
            let a = GradInput(values: rng.floats(n * c, -1.5, 1.5), shape: [n, c])
            let b = GradInput(values: rng.floats(n * o, 0.5, 1.5), shape: [n, o])
            let probe = try Tensor(rng.floats(n * o * 12), shape: [n, o, 3, 4], on: backend)
            let f: ([Tensor]) throws -> Tensor = { try Tensor.scaledConv2d($0[0], weight: $0[1], inScale: $0[2], outScale: $0[3], padding: 1) }
            try Self.assertRecordedMatchesFused(backend, [x, w, a, b], probe, "scaledConv2d", f)
            try checkGradients(on: backend, [x, w, a, b], tolerance: 5e-3, "scaledConv2d double backward") { t in
                try Self.firstGradients(t, probe, f)
            }
            let dy = GradInput(values: rng.floats(n * o * 6), shape: [n, o, 2, 3])
            let aUp = GradInput(values: rng.floats(n * c, 0.5, 1.5), shape: [n, c])
            let bUp = GradInput(values: rng.floats(n * o, -1.5, 1.5), shape: [n, o])
            let probeUp = try Tensor(rng.floats(n * c * 5 * 7), shape: [n, c, 5, 7], on: backend)
            let fUp: ([Tensor]) throws -> Tensor = {
                try Tensor.scaledConv2dGradInput($0[0], weight: $0[1], inputShape: [n, c, 5, 7], inScale: $0[2], outScale: $0[3], stride: 2)
            }
            try Self.assertRecordedMatchesFused(backend, [dy, w, aUp, bUp], probeUp, "scaledConv2dGradInput", fUp)
            try checkGradients(on: backend, [dy, w, aUp, bUp], tolerance: 5e-3, "scaledConv2dGradInput double backward") { t in
                try Self.firstGradients(t, probeUp, fUp)
            }
        }
    }

    /// The recorded (composed) VJP gives the same first gradients as the fused one, which
    /// `testGradientsByFiniteDifferences` checks against finite differences.
    static func assertRecordedMatchesFused(_ backend: any Backend, _ inputs: [GradInput], _ probe: Tensor, _ what: String,
                                           _ f: ([Tensor]) throws -> Tensor) throws {
        let t = try inputs.map { try Tensor($0.values, shape: $0.shape, on: backend).requiringGrad() }
        let fused = try Autograd.gradients(of: (f(t) * probe).sum(), wrt: t).map { try XCTUnwrap($0).array() }
        let recorded = try firstGradients(t, probe, f).array()
        assertClose(recorded, fused.flatMap { $0 }, tolerance: 1e-5, "\(backend.label) \(what): recorded VJP vs fused VJP")
    }

    /// ∂(Σ probe·f(t))/∂t for every t, taken with `createGraph` and flattened into one vector (recording on even
    /// inside the finite-difference evaluations, which run without gradients).
    static func firstGradients(_ t: [Tensor], _ probe: Tensor, _ f: ([Tensor]) throws -> Tensor) throws -> Tensor {
        let inputs = t.map { $0.requiresGrad ? $0 : $0.requiringGrad() }
        return try Autograd.withGrad {
            let grads = try Autograd.gradients(of: (f(inputs) * probe).sum(), wrt: inputs, createGraph: true)
            return try Tensor.concat(grads.map { try XCTUnwrap($0).reshaped([$0!.count]) }, axis: 0)
        }
    }

    // MARK: - Split modulated convolution

    /// `modulatedConv2d(mode: .split)` and `modulatedConv2dUp2(mode: .split)` against the Double modconv
    /// references of ModconvTests and ModulatedConvUp2Tests (per-sample modulated weights, written independently).
    func testSplitModconvMatchesDoubleReferences() throws {
        var rng = TestRNG(seed: 83)
        let layers: [(n: Int, i: Int, o: Int, h: Int, w: Int, k: Int, demodulate: Bool)] = [
            (3, 5, 7, 5, 6, 3, true), (3, 5, 7, 5, 6, 3, false), (2, 6, 3, 7, 5, 1, false),
        ]
        for l in layers {
            let x = rng.floats(l.n * l.i * l.h * l.w), w = rng.floats(l.o * l.i * l.k * l.k), s = rng.floats(l.n * l.i, -1.5, 1.5)
            let m = ModulateShape(batch: l.n, outChannels: l.o, inChannels: l.i, kernelSize: l.k * l.k, demodulate: l.demodulate)
            let want = ModulateReference.modulatedConv(m, x: x, w: w, s: s, height: l.h, width: l.w, kernel: l.k)
            for backend in TestBackends.all {
                let y = try Tensor.modulatedConv2d(Tensor(x, shape: [l.n, l.i, l.h, l.w], on: backend),
                                                   weight: Tensor(w, shape: [l.o, l.i, l.k, l.k], on: backend),
                                                   styles: Tensor(s, shape: [l.n, l.i], on: backend), demodulate: l.demodulate, mode: .split)
                assertClose(try y.array(), want, tolerance: 1e-5, "\(backend.label) split modconv \(l)")
            }
        }
        let (n, i, o, h, w) = (3, 5, 7, 5, 6)
        for demod in [true, false] {
            let xv = rng.floats(n * i * h * w), wv = rng.floats(o * i * 9), sv = rng.floats(n * i, -1.5, 1.5)
            let want = ModulatedConvUp2Tests.reference(x: xv, w: wv, s: sv, n: n, i: i, o: o, h: h, wd: w, demod: demod)
            for backend in TestBackends.all {
                let y = try Tensor.modulatedConv2dUp2(Tensor(xv, shape: [n, i, h, w], on: backend),
                                                      weight: Tensor(wv, shape: [o, i, 3, 3], on: backend),
                                                      styles: Tensor(sv, shape: [n, i], on: backend),
                                                      filter: Tensor.firFilter([1, 3, 3, 1], on: backend), demodulate: demod, mode: .split)
                assertClose(try y.array(), want, tolerance: 1e-5, "\(backend.label) split modconv up2 demod=\(demod)")
            }
        }
    }

    /// Split against fused on the same inputs: values, first gradients and the second-order gradient of a
    /// path-length-style penalty (|∂(Σ y·r)/∂styles|² differentiated w.r.t. weight, styles and x).
    func testSplitMatchesFusedWithGradients() throws {
        var rng = TestRNG(seed: 84)
        let (n, i, o, h, w) = (3, 5, 7, 5, 6)
        let xv = rng.floats(n * i * h * w), wv = rng.floats(o * i * 9), sv = rng.floats(n * i, -1.5, 1.5)
        let rv = rng.floats(n * o * 4 * h * w)
        for backend in TestBackends.all {
            var results: [[Float]] = []
            for mode in ModconvMode.allCases {
                let x = try Tensor(xv, shape: [n, i, h, w], on: backend).requiringGrad()
                let wt = try Tensor(wv, shape: [o, i, 3, 3], on: backend).requiringGrad()
                let s = try Tensor(sv, shape: [n, i], on: backend).requiringGrad()
                let r = try Tensor(rv, shape: [n, o, 2 * h, 2 * w], on: backend)
                let y1 = try Tensor.modulatedConv2d(x, weight: wt, styles: s, mode: mode)
                let y2 = try Tensor.modulatedConv2dUp2(y1.sliced(axis: 1, 0..<i), weight: wt, styles: s,
                                                       filter: Tensor.firFilter([1, 3, 3, 1], on: backend), mode: mode)
                let loss = try (y2 * r).sum()
                let first = try Autograd.gradients(of: loss, wrt: [x, wt, s], createGraph: true)
                let penalty = try XCTUnwrap(first[2]).map(.square).sum()
                let second = try Autograd.gradients(of: penalty, wrt: [x, wt, s])
                results.append(try y2.array() + (first + second).flatMap { try XCTUnwrap($0).array() })
            }
            assertClose(results[1], results[0], tolerance: 1e-4, "\(backend.label) split vs fused: values, gradients, second order")
        }
    }
}

/// Naive Double loops of the scaled convolution, its input gradient and its weight gradient, from their definitions.
enum ScaledConvReference {
    /// Calls `body(yIndex, xIndex, wIndex, n, o, c)` for every tap of `s` that lands inside x.
    static func forEachTap(_ s: Conv2dShape, _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let (oh, ow) = (s.outHeight, s.outWidth)
        for n in 0..<s.batch { for o in 0..<s.outChannels { for c in 0..<s.inChannels {
            for oy in 0..<oh { for ox in 0..<ow { for ky in 0..<s.kernelH { for kx in 0..<s.kernelW {
                let iy = oy * s.stride - s.padH + ky, ix = ox * s.stride - s.padW + kx
                guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                body(((n * s.outChannels + o) * oh + oy) * ow + ox, ((n * s.inChannels + c) * s.height + iy) * s.width + ix,
                     ((o * s.inChannels + c) * s.kernelH + ky) * s.kernelW + kx, n, o, c)
            } } } }
        } } }
    }

    /// y = b·conv(a·x, g·w), dx = a·convᵀ(b·dy, g·w), dw = g·Σ (b·dy) ⋆ (a·x), g the shape's weight gain.
    static func all(_ s: Conv2dShape, _ d: ScaledConv2dTests.Data) -> (y: [Double], dx: [Double], dw: [Double]) {
        var y = [Double](repeating: 0, count: s.outputCount), dx = [Double](repeating: 0, count: s.inputCount)
        var dw = [Double](repeating: 0, count: s.weightCount)
        forEachTap(s) { yi, xi, wi, n, o, c in
            let a = d.a.map { Double($0[n * s.inChannels + c]) } ?? 1, b = d.b.map { Double($0[n * s.outChannels + o]) } ?? 1
            let scale = a * b * Double(s.weightGain)
            y[yi] += scale * Double(d.w[wi]) * Double(d.x[xi])
            dx[xi] += scale * Double(d.w[wi]) * Double(d.dy[yi])
            dw[wi] += scale * Double(d.dy[yi]) * Double(d.x[xi])
        }
        return (y, dx, dw)
    }
}
