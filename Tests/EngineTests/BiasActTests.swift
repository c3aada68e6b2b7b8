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
                        assertClose(try Self.gradient(cl, s, dy, yCPU), try Self.gradient(cpu, s, dy, yCPU),
                                    tolerance: 1e-7, "parity gradient \(what)")
                    }
                }
            }
        }
    }
}
