import Engine
import TestSupport
import XCTest

/// `minibatchStddev` (minibatch_stddev.cl, CPUBackend+MinibatchStddev.swift) on every backend: the forward and the
/// kernel backward against Double loops written from the definition, outputs poisoned first; the gradient by finite
/// differences; the gradient of the gradient (R1) against the primitives' composition and by finite differences.
final class MinibatchStddevTests: XCTestCase {
    /// (N, group size asked, C, H, W): a group lowered from 4 to 3 (N = 6) and to 1 (N = 5), two groups of 4, 1x1
    /// pixels, and more elements per sample than a work-group has items (C·H·W = 592).
    static let shapes = [(6, 4, 3, 5, 7), (5, 4, 2, 3, 3), (8, 4, 1, 1, 3), (4, 2, 37, 4, 4), (3, 4, 2, 1, 1)]

    /// Double reference of the forward: y `[N, C+1, H, W]`, and per group m the means μ and std-devs s of each element.
    static func reference(_ x: [Float], n: Int, g: Int, chw: Int, hw: Int) -> (y: [Double], mean: [[Double]], std: [[Double]]) {
        let m = n / g
        var y = [Double](repeating: 0, count: n * (chw + hw))
        var means: [[Double]] = [], stds: [[Double]] = []
        for group in 0..<m {
            let samples = (0..<g).map { $0 * m + group }
            var mu = [Double](repeating: 0, count: chw), sd = mu
            for i in 0..<chw {
                mu[i] = samples.reduce(0.0) { $0 + Double(x[$1 * chw + i]) } / Double(g)
                let v = samples.reduce(0.0) { $0 + pow(Double(x[$1 * chw + i]) - mu[i], 2) } / Double(g)
                sd[i] = (v + 1e-8).squareRoot()
            }
            let feature = sd.reduce(0, +) / Double(chw)
            for s in samples {
                for i in 0..<chw { y[s * (chw + hw) + i] = Double(x[s * chw + i]) }
                for p in 0..<hw { y[s * (chw + hw) + chw + p] = feature }
            }
            means.append(mu)
            stds.append(sd)
        }
        return (y, means, stds)
    }

    func testForwardAndBackwardMatchDoubleLoops() throws {
        for backend in TestBackends.all {
            for (n, asked, c, h, w) in Self.shapes {
                let g = MinibatchStddevShape.group(asked, batch: n), m = n / g
                let shape = MinibatchStddevShape(batch: n, group: g, channels: c, height: h, width: w)
                let (chw, hw) = (c * h * w, h * w)
                var rng = TestRNG(seed: UInt64(n * 100 + c))
                let x = rng.floats(n * chw, -2, 2), dy = rng.floats(n * (chw + hw))
                let ref = Self.reference(x, n: n, g: g, chw: chw, hw: hw)
                let xb = try backend.buffer(x), yb = try backend.poisoned(shape.outputCount)
                try backend.minibatchStddev(shape, x: xb, y: yb)
                assertClose(try backend.array(yb), ref.y, tolerance: 1e-6, "minibatchStddev \(shape) (\(backend.label))")

                // dx[s, i] = dy[s, i] + d_m·(x − μ)/(G·CHW·s), d_m the sum of dy over the group's feature maps.
                var expected = [Double](repeating: 0, count: n * chw)
                for group in 0..<m {
                    let samples = (0..<g).map { $0 * m + group }
                    let d = samples.reduce(0.0) { acc, s in acc + (0..<hw).reduce(0.0) { $0 + Double(dy[s * (chw + hw) + chw + $1]) } }
                    for s in samples {
                        for i in 0..<chw {
                            expected[s * chw + i] = Double(dy[s * (chw + hw) + i])
                                + d * (Double(x[s * chw + i]) - ref.mean[group][i]) / (Double(g * chw) * ref.std[group][i])
                        }
                    }
                }
                let dxb = try backend.poisoned(n * chw)
                try backend.minibatchStddevBackward(shape, x: xb, gradOutput: try backend.buffer(dy), gradInput: dxb)
                assertClose(try backend.array(dxb), expected, tolerance: 1e-5, "minibatchStddevBackward \(shape) (\(backend.label))")
            }
        }
    }

    /// The hand-worked case of NetworkTests, through the op: N = 4, group 2, one channel of 1x2 pixels.
    func testHandWorkedValues() throws {
        for backend in TestBackends.all {
            let x = try Tensor([1, 2, 5, 5, 3, 6, 5, 9], shape: [4, 1, 1, 2], on: backend)
            let s0 = (1 + 1e-8).squareRoot() * 0.5 + (4 + 1e-8).squareRoot() * 0.5
            let s1 = (0 + 1e-8).squareRoot() * 0.5 + (4 + 1e-8).squareRoot() * 0.5
            assertClose(try x.minibatchStddev(groupSize: 2).array(), [1, 2, s0, s0, 5, 5, s1, s1, 3, 6, s0, s0, 5, 9, s1, s1],
                        tolerance: 1e-6, "minibatch stddev (\(backend.label))")
        }
    }

    /// Autograd's gradient (the fused backward kernel) against central finite differences.
    func testGradientByFiniteDifferences() throws {
        for backend in TestBackends.all {
            var rng = TestRNG(seed: 5)
            let x = GradInput(values: rng.floats(6 * 3 * 2 * 3, -2, 2), shape: [6, 3, 2, 3])
            try checkGradients(on: backend, [x], h: 1e-2, tolerance: 3e-3, coordinates: 24, "minibatchStddev") { t in
                try t[0].minibatchStddev(groupSize: 3)
            }
        }
    }

    /// R1's use: a function of ∂(Σ y·r)/∂x differentiated again, here Σ q·∂(Σ y·r)/∂x (‖·‖² would be almost constant:
    /// the feature's gradient is d_m·(x − μ)/(G·CHW·s), of nearly fixed norm; with groups of 2, (x − μ)/s is ±1, so groups of 3). The recording VJP against the
    /// primitives' composition, and by finite differences.
    func testGradientOfGradient() throws {
        for backend in TestBackends.all {
            var rng = TestRNG(seed: 8)
            // The probe weights only the feature maps: y's other channels are x itself, whose second derivative is 0.
            let values = rng.floats(6 * 2 * 3 * 3, -2, 2)
            let probe = (0..<6 * 3 * 3 * 3).map { ($0 / 9) % 3 == 2 ? 1 + rng.uniform(0, 1) : 0 }
            let q = rng.floats(values.count)
            func penaltyGradient(_ f: (Tensor) throws -> Tensor) throws -> [Float] {
                let x = try Tensor(values, shape: [6, 2, 3, 3], on: backend).requiringGrad()
                let y = try f(x)
                let dx = try Autograd.gradients(of: (y * Tensor(probe, shape: y.shape, on: backend)).sum(), wrt: [x], createGraph: true)[0]!
                return try Autograd.gradients(of: (dx * Tensor(q, shape: x.shape, on: backend)).sum(), wrt: [x])[0]!.array()
            }
            let fused = try penaltyGradient { try $0.minibatchStddev(groupSize: 3) }
            let composed = try penaltyGradient { try $0.minibatchStddevReference(groupSize: 3) }
            assertClose(fused, composed, tolerance: 1e-5, "minibatchStddev double backward (\(backend.label))")

            let input = GradInput(values: values, shape: [6, 2, 3, 3])
            try checkGradients(on: backend, [input], h: 1e-2, tolerance: 5e-3, coordinates: 24, "minibatchStddev R1") { t in
                try Autograd.withGrad {
                    let x = t[0].requiresGrad ? t[0] : t[0].requiringGrad()
                    let y = try x.minibatchStddev(groupSize: 3)
                    let dx = try Autograd.gradients(of: (y * Tensor(probe, shape: y.shape, on: backend)).sum(), wrt: [x],
                                                    createGraph: true)[0]!
                    return try (dx * Tensor(q, shape: x.shape, on: backend)).sum()
                }
            }
        }
    }

    func testBadShapesAreRejected() throws {
        let backend = TestBackends.cpu
        XCTAssertThrowsError(try Tensor.zeros([4, 3], on: backend).minibatchStddev(groupSize: 2))
        XCTAssertThrowsError(try Tensor.zeros([4, 1, 2, 2], on: backend).minibatchStddev(groupSize: 0))
        let bad = MinibatchStddevShape(batch: 4, group: 3, channels: 1, height: 2, width: 2)
        XCTAssertThrowsError(try backend.minibatchStddev(bad, x: try backend.poisoned(16), y: try backend.poisoned(32)))
        let ok = MinibatchStddevShape(batch: 4, group: 2, channels: 1, height: 2, width: 2)
        XCTAssertThrowsError(try backend.minibatchStddev(ok, x: try backend.poisoned(16), y: try backend.poisoned(31))) { error in
            XCTAssertTrue("\(error)".contains("y buffer"), "\(error)")
        }
    }
}
