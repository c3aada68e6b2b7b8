import Engine
import TestSupport
import Foundation
import XCTest

/// bias_act.cl / CPUBackend+BiasAct: Double reference, hand values, finite-difference gradients and
/// OpenCL-vs-CPU parity.
final class BiasActTests: XCTestCase {
    // MARK: - Reference

    /// NVlabs `_bias_act_ref` for one element in Double.
    static func reference(_ x: Double, bias: Double, _ s: BiasActShape) -> Double {
        var v = x + bias
        if s.activation == .leakyReLU && v <= 0 { v *= Double(s.alpha) }
        v *= Double(s.gain)
        if s.clamp >= 0 { v = min(max(v, -Double(s.clamp)), Double(s.clamp)) }
        return v
    }

    static func reference(_ x: [Float], _ b: [Float]?, _ s: BiasActShape) -> [Double] {
        x.indices.map { i in reference(Double(x[i]), bias: b.map { Double($0[(i / s.inner) % s.channels]) } ?? 0, s) }
    }

    static func forward(_ backend: any Backend, _ s: BiasActShape, _ x: [Float], _ b: [Float]?) throws -> [Float] {
        let y = try backend.poisoned(s.count + 3)
        try backend.biasAct(s, x: try backend.buffer(x), bias: try b.map { try backend.buffer($0) }, y: y)
        let all = try backend.array(y)
        XCTAssertTrue(all[s.count...].allSatisfy(\.isNaN), "\(backend.label): biasAct wrote past count")
        return Array(all[..<s.count])
    }

    static func gradient(_ backend: any Backend, _ s: BiasActShape, _ dy: [Float], _ y: [Float]) throws -> [Float] {
        let dx = try backend.poisoned(s.count + 3)
        try backend.biasActGrad(s, gradY: try backend.buffer(dy), y: try backend.buffer(y), gradX: dx)
        let all = try backend.array(dx)
        XCTAssertTrue(all[s.count...].allSatisfy(\.isNaN), "\(backend.label): biasActGrad wrote past count")
        return Array(all[..<s.count])
    }

    /// [outer 3, channels 5, inner 7] with every activation, gain default / custom, clamp off / on, and
    /// [3, 4, 37].
    static let shapes: [BiasActShape] = Activation.allCases.flatMap { act in
        [BiasActShape(count: 105, channels: 5, inner: 7, activation: act),
         BiasActShape(count: 105, channels: 5, inner: 7, activation: act, gain: 0.75, clamp: 0.6),
         BiasActShape(count: 105, channels: 5, inner: 7, activation: act, alpha: 0.1, clamp: 1.1),
         // Rows of 37: SIMD8 chunks and a scalar tail per bias row on the CPU.
         BiasActShape(count: 444, channels: 4, inner: 37, activation: act, gain: 1.3, clamp: 0.9)]
    }

    // MARK: - Forward

    func testHandValues() throws {
        let lrelu = BiasActShape(count: 4, channels: 2, inner: 1, activation: .leakyReLU)
        let clamped = BiasActShape(count: 4, channels: 2, inner: 1, activation: .linear, gain: 2, clamp: 1.5)
        let r2 = Double(2).squareRoot()
        for backend in TestBackends.all {
            // x + b = [1.5, -1, -0.5, 2] -> lrelu * sqrt 2.
            assertClose(try Self.forward(backend, lrelu, [1, -3, -1, 0], [0.5, 2]), [1.5 * r2, -0.2 * r2, -0.1 * r2, 2 * r2],
                        tolerance: 1e-7, "\(backend.label) lrelu")
            // (x + b)·2 = [3, -2, 1, 5] clamped to ±1.5.
            assertClose(try Self.forward(backend, clamped, [1, -3, 0, 0.5], [0.5, 2]), [1.5, -1.5, 1, 1.5],
                        tolerance: 1e-7, "\(backend.label) clamp")
            // No bias.
            assertClose(try Self.forward(backend, lrelu, [1, -1, 2, -2], nil), [r2, -0.2 * r2, 2 * r2, -0.4 * r2],
                        tolerance: 1e-7, "\(backend.label) no bias")
            // Gradient: slope from the sign of y, zero where |y| reached the clamp.
            assertClose(try Self.gradient(backend, lrelu, [1, 1, 2, 2], [3, -0.5, 0.1, -0.1]), [r2, 0.2 * r2, 2 * r2, 0.4 * r2],
                        tolerance: 1e-7, "\(backend.label) lrelu grad")
            assertClose(try Self.gradient(backend, clamped, [1, 1, 1, 1], [1.5, -1.5, 1, -1.49]), [0, 0, 2, 2] as [Double],
                        tolerance: 0, "\(backend.label) clamp grad")
        }
    }

    func testForwardMatchesReference() throws {
        var rng = TestRNG(seed: 21)
        for backend in TestBackends.all {
            for s in Self.shapes {
                let x = rng.floats(s.count, -2, 2), b = rng.floats(s.channels)
                for bias in [b, nil] {
                    assertClose(try Self.forward(backend, s, x, bias), Self.reference(x, bias, s), tolerance: 3e-7,
                                "\(backend.label) \(s) bias \(bias != nil)")
                }
            }
        }
    }

    // MARK: - Gradient

    /// dx from biasActGrad(dy, y) equals dy · d/dx of the Double reference by central differences, at
    /// points at least 1e-2 away from the kink at 0 and from the clamp boundaries.
    func testGradientMatchesFiniteDifferences() throws {
        var rng = TestRNG(seed: 22)
        let h = 1e-5
        for backend in TestBackends.all {
            for s in Self.shapes {
                let b = rng.floats(s.channels)
                var x = rng.floats(s.count, -2, 2)
                var unclamped = s
                unclamped.clamp = -1
                for i in x.indices {
                    let bias = Double(b[(i / s.inner) % s.channels])
                    // Redraw until clear of the kink and of the clamp boundaries.
                    while abs(Double(x[i]) + bias) < 1e-2
                        || (s.clamp >= 0 && abs(abs(Self.reference(Double(x[i]), bias: bias, unclamped)) - Double(s.clamp)) < 1e-2) {
                        x[i] = rng.uniform(-2, 2)
                    }
                }
                let dy = rng.floats(s.count)
                let y = try Self.forward(backend, s, x, b)
                let dx = try Self.gradient(backend, s, dy, y)
                let want = x.indices.map { i -> Double in
                    let bias = Double(b[(i / s.inner) % s.channels]), xi = Double(x[i])
                    let slope = (Self.reference(xi + h, bias: bias, s) - Self.reference(xi - h, bias: bias, s)) / (2 * h)
                    return Double(dy[i]) * slope
                }
                assertClose(dx, want, tolerance: 1e-6, "\(backend.label) \(s)")
                XCTAssertTrue(s.clamp < 0 || dx.contains(0), "\(s): the clamp should zero some gradients")
            }
        }
    }

    /// `biasActGradSum`: dx and the bias's gradient Σ_{o,i} dx[o, c, i] against float64 loops of bias_act's gradient,
    /// outputs poisoned (nothing written past them), on layouts that take each path of the OpenCL reduction: a short one
    /// (≤ 16 elements per channel, one work-item per channel), one work-group per channel, and a long one in chunks (two
    /// passes; only the first computes dx); a layer's [N, C] output (inner 1) and one channel. On OpenCL dx has the bits
    /// of `biasActGrad` (the same function) and it is one launch, two for the chunked sum.
    func testGradSumMatchesFloat64() throws {
        let layouts: [(outer: Int, channels: Int, inner: Int)] = [(5, 3, 3), (8, 6, 1), (3, 5, 37), (2, 3, 9001), (4, 1, 11)]
        var rng = TestRNG(seed: 31)
        for (index, l) in layouts.enumerated() {
            for act in Activation.allCases {
                let count = l.outer * l.channels * l.inner
                let s = BiasActShape(count: count, channels: l.channels, inner: l.inner, activation: act, gain: 1.3,
                                     clamp: index % 2 == 0 ? 0.9 : nil)
                let dy = rng.floats(count), y = rng.floats(count)
                var dx = [Double](repeating: 0, count: count), db = [Double](repeating: 0, count: l.channels)
                for i in 0..<count {
                    var g = Double(dy[i]) * 1.3
                    if act == .leakyReLU && !(y[i] > 0) { g *= Double(s.alpha) }
                    if s.clamp >= 0 && !(abs(y[i]) < s.clamp) { g = 0 }
                    dx[i] = g
                    db[(i / l.inner) % l.channels] += g
                }
                for backend in TestBackends.all {
                    let what = "\(backend.label) \(act) \(l)"
                    let gx = try backend.poisoned(count + 3), gb = try backend.poisoned(l.channels + 2)
                    let before = backend.kernelLaunches
                    try backend.biasActGradSum(s, gradY: try backend.buffer(dy), y: try backend.buffer(y), gradX: gx, gradBias: gb)
                    let launches = backend.kernelLaunches.map { $0 - before! }
                    let (allX, allB) = (try backend.array(gx), try backend.array(gb))
                    XCTAssertTrue(allX[count...].allSatisfy(\.isNaN) && allB[l.channels...].allSatisfy(\.isNaN), "\(what): wrote past")
                    assertClose(Array(allX[..<count]), dx, tolerance: 1e-6, "\(what): dx")
                    assertClose(Array(allB[..<l.channels]), db, tolerance: 1e-5, "\(what): bias gradient")
                    if let launches {
                        XCTAssertEqual(launches, l.outer * l.inner > 2 * 4096 ? 2 : 1, "\(what): launches")
                        XCTAssertEqual(Array(allX[..<count]), try Self.gradient(backend, s, dy, y), "\(what): not biasActGrad's bits")
                    }
                }
            }
        }
    }

    func testRejectsBadShapes() throws {
        for backend in TestBackends.all {
            let x = try backend.buffer([Float](repeating: 1, count: 10)), y = try backend.allocate(10)
            let b = try backend.buffer([1, 2])
            let ragged = BiasActShape(count: 10, channels: 3, inner: 1, activation: .linear)
            let tooLong = BiasActShape(count: 12, channels: 2, inner: 1, activation: .linear)
            let shortBias = BiasActShape(count: 10, channels: 5, inner: 2, activation: .linear)
            for s in [ragged, tooLong, shortBias] {
                XCTAssertThrowsError(try backend.biasAct(s, x: x, bias: b, y: y), "\(backend.label) \(s)")
            }
            XCTAssertThrowsError(try backend.biasActGrad(tooLong, gradY: x, y: x, gradX: y), backend.label)
        }
    }

    // MARK: - Noise

    /// x + noise·strength for element i of `[outer, channels, inner]`, in Double: the noise plane of sample
    /// i / (channels·inner) (or the one shared plane) at position i % inner.
    static func noisy(_ x: [Float], _ noise: [Float], strength: Float, _ s: BiasActShape) -> [Double] {
        x.indices.map { i in
            Double(x[i]) + Double(noise[(i / (s.channels * s.inner)) * s.noiseStride + i % s.inner]) * Double(strength)
        }
    }

    static func forward(_ backend: any Backend, _ s: BiasActShape, _ x: [Float], _ b: [Float]?, noise: [Float],
                        strength: Float) throws -> [Float] {
        let y = try backend.poisoned(s.count + 3)
        try backend.biasAct(s, x: try backend.buffer(x), bias: try b.map { try backend.buffer($0) }, noise: try backend.buffer(noise),
                            noiseStrength: try backend.buffer([strength]), y: y)
        let all = try backend.array(y)
        XCTAssertTrue(all[s.count...].allSatisfy(\.isNaN), "\(backend.label): biasAct with noise wrote past count")
        return Array(all[..<s.count])
    }

    /// The noise term against the Double reference, per-sample and shared planes, with and without bias; odd
    /// inner sizes cross the CPU's SIMD8 chunks inside a plane.
    func testNoiseForwardMatchesReference() throws {
        var rng = TestRNG(seed: 24)
        for backend in TestBackends.all {
            for base in [BiasActShape(count: 3 * 5 * 7, channels: 5, inner: 7, activation: .leakyReLU),
                         BiasActShape(count: 2 * 3 * 37, channels: 3, inner: 37, activation: .linear, gain: 1.3, clamp: 0.9)] {
                for layout in [BiasActNoise.perSample, .shared] {
                    var s = base
                    s.noise = layout
                    let outer = s.count / (s.channels * s.inner)
                    let x = rng.floats(s.count, -2, 2), b = rng.floats(s.channels)
                    let noise = rng.floats(layout == .shared ? s.inner : outer * s.inner), strength = rng.uniform(0.2, 1.5)
                    for bias in [b, nil] {
                        let pre = Self.noisy(x, noise, strength: strength, s)
                        let expected = pre.indices.map { i in
                            Self.reference(pre[i], bias: bias.map { Double($0[(i / s.inner) % s.channels]) } ?? 0, s)
                        }
                        assertClose(try Self.forward(backend, s, x, bias, noise: noise, strength: strength), expected, tolerance: 3e-7,
                                    "\(backend.label) \(layout) \(s) bias \(bias != nil)")
                    }
                }
            }
        }
    }

    /// The one-kernel synthesis epilogue equals the ops it replaced, `(x + noise·strength).biasAct(b)`: the same
    /// bits forward and for the gradients of x, bias and strength (so training follows the same trajectory), and
    /// the same second derivatives.
    func testNoiseEpilogueMatchesComposedOps() throws {
        var rng = TestRNG(seed: 25)
        for backend in TestBackends.all {
            for shared in [false, true] {
                let x = try Tensor(rng.floats(2 * 3 * 5 * 6, -1, 1), shape: [2, 3, 5, 6], on: backend).requiringGrad()
                let b = try Tensor(rng.floats(3), shape: [3], on: backend).requiringGrad()
                let strength = try Tensor([0.7], shape: [1], on: backend).requiringGrad()
                let noise = try Tensor(rng.floats((shared ? 1 : 2) * 5 * 6), shape: [shared ? 1 : 2, 1, 5, 6], on: backend)
                let probe = try Tensor(rng.floats(2 * 3 * 5 * 6), shape: [2, 3, 5, 6], on: backend)
                let fused = try x.biasAct(bias: b, activation: .leakyReLU, clamp: 0.8, noise: noise, noiseStrength: strength)
                // The synthesis layer before: a shared plane was expanded to the batch first.
                let composed = try (x + noise.expanded(to: [2, 1, 5, 6]) * strength).biasAct(bias: b, activation: .leakyReLU, clamp: 0.8)
                let what = "\(backend.label) \(shared ? "shared" : "per-sample") noise"
                XCTAssertEqual(try fused.array(), try composed.array(), "\(what): forward bits")
                // A loss quadratic in y, so the gradients depend on x, b and strength and have second derivatives.
                let gf = try Autograd.gradients(of: (fused * fused * probe).sum(), wrt: [x, b, strength], createGraph: true)
                let gc = try Autograd.gradients(of: (composed * composed * probe).sum(), wrt: [x, b, strength], createGraph: true)
                for i in 0..<3 {
                    // The same reductions in the same order as the separate ops: the same bits.
                    XCTAssertEqual(try gf[i]!.array(), try gc[i]!.array(), "\(what): gradient \(i)")
                }
                XCTAssertNotEqual(try gf[2]!.array()[0], 0, "\(what): the strength gradient should not vanish")
                // Second order through the strength gradient (the path-length penalty differentiates gradients).
                let sf = try Autograd.gradients(of: (gf[2]! * gf[2]!).sum(), wrt: [x, b, strength])
                let sc = try Autograd.gradients(of: (gc[2]! * gc[2]!).sum(), wrt: [x, b, strength])
                for i in 0..<3 {
                    assertClose(try sf[i]!.array(), try sc[i]!.array(), tolerance: 1e-5, "\(what): second order \(i)")
                }
            }
        }
    }

    func testNoiseRejectsBadInput() throws {
        let backend = TestBackends.cpu
        let x = try Tensor.zeros([2, 3, 4, 5], on: backend), strength = try Tensor.zeros([1], on: backend)
        for bad in [[2, 3, 4, 5], [2, 1, 5, 4], [1, 1, 4, 4], [2, 1, 20]] {
            let noise = try Tensor.zeros(bad, on: backend)
            XCTAssertThrowsError(try x.biasAct(noise: noise, noiseStrength: strength), "noise \(bad)")
        }
        let good = try Tensor.zeros([2, 1, 4, 5], on: backend)
        XCTAssertThrowsError(try x.biasAct(noise: good), "noise without strength")
        XCTAssertThrowsError(try x.biasAct(noiseStrength: strength), "strength without noise")
        XCTAssertThrowsError(try x.biasAct(noise: good, noiseStrength: Tensor.zeros([2], on: backend)), "two strengths")
        // Backend level: a noise layout needs both buffers, and a plane per sample.
        let s = BiasActShape(count: 40, channels: 2, inner: 10, activation: .linear, noise: .perSample)
        let xb = try backend.buffer([Float](repeating: 0, count: 40)), yb = try backend.allocate(40)
        XCTAssertThrowsError(try backend.biasAct(s, x: xb, bias: nil, y: yb), "layout without buffers")
        XCTAssertThrowsError(try backend.biasAct(s, x: xb, bias: nil, noise: try backend.buffer([Float](repeating: 0, count: 10)),
                                                 noiseStrength: try backend.buffer([1]), y: yb), "one plane for two samples")
    }

    // MARK: - Parity

    func testBiasActParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 23)
        // Awkward layouts: a single channel, 15 channels with odd inner sizes, inner 1 (FC layers).
        let layouts = [(outer: 1, channels: 1, inner: 7 * 9), (3, 15, 13 * 11), (5, 15, 1), (2, 3, 1025)]
        for (outer, channels, inner) in layouts {
            for act in Activation.allCases {
                for clamp: Float? in [nil, 0.8] {
                    let s = BiasActShape(count: outer * channels * inner, channels: channels, inner: inner,
                                         activation: act, clamp: clamp)
                    let x = rng.floats(s.count, -2, 2), b = rng.floats(channels), dy = rng.floats(s.count)
                    let what = "\(outer)x\(channels)x\(inner) \(act) clamp \(clamp.map { "\($0)" } ?? "none")"
                    for bias in [b, nil] {
                        let yCL = try Self.forward(cl, s, x, bias), yCPU = try Self.forward(cpu, s, x, bias)
                        assertClose(yCL, yCPU, tolerance: 1e-7, "parity forward \(what) bias \(bias != nil)")
                        for layout in [BiasActNoise.perSample, .shared] {
                            var sn = s
                            sn.noise = layout
                            let noise = rng.floats(layout == .shared ? inner : outer * inner)
                            assertClose(try Self.forward(cl, sn, x, bias, noise: noise, strength: 0.6),
                                        try Self.forward(cpu, sn, x, bias, noise: noise, strength: 0.6), tolerance: 1e-7,
                                        "parity forward \(what) bias \(bias != nil) noise \(layout)")
                        }
                        assertClose(try Self.gradient(cl, s, dy, yCPU), try Self.gradient(cpu, s, dy, yCPU),
                                    tolerance: 1e-7, "parity gradient \(what)")
                    }
                }
            }
        }
    }
}
