import Engine
import TestSupport
import Foundation
import XCTest

/// The classic-GAN ops (Ops/Sigmoid, BinaryCrossEntropy, LogSoftmax, BatchNorm, ConvTranspose2d): Double
/// references written as naive loops, finite-difference gradients, and OpenCL-vs-CPU parity of values and
/// gradients on awkward shapes.
final class ClassicOpsTests: XCTestCase {
    // MARK: - Double references

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

    /// −t·log σ(x) − (1 − t)·log(1 − σ(x)) with log σ(x) = −log(1 + e^−x) evaluated without overflow.
    static func bce(_ x: Double, _ t: Double) -> Double {
        let logSig = x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x))
        let logOneMinus = logSig - x
        return -t * logSig - (1 - t) * logOneMinus
    }

    static func logSoftmax(_ x: [Float], classes k: Int) -> [Double] {
        stride(from: 0, to: x.count, by: k).flatMap { lo -> [Double] in
            let row = x[lo..<(lo + k)].map(Double.init)
            let total = row.reduce(0) { $0 + exp($1) }
            return row.map { $0 - log(total) }
        }
    }

    /// Training-mode batch norm of x `[n, c, inner]` in Double.
    static func batchNorm(_ x: [Float], n: Int, c: Int, inner: Int, gamma: [Float], beta: [Float], eps: Double = 1e-5) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for ch in 0..<c {
            var values: [Double] = []
            for b in 0..<n { for i in 0..<inner { values.append(Double(x[(b * c + ch) * inner + i])) } }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
            for b in 0..<n {
                for i in 0..<inner {
                    let j = (b * c + ch) * inner + i
                    y[j] = (Double(x[j]) - mean) / (variance + eps).squareRoot() * Double(gamma[ch]) + Double(beta[ch])
                }
            }
        }
        return y
    }

    /// PyTorch conv_transpose2d by scattering every input element, in Double. x `[N, C, H, W]`, w `[C, O, k, k]`.
    static func convTranspose(_ x: [Float], _ xs: [Int], _ w: [Float], outChannels o: Int, k: Int, stride s: Int, padding p: Int) -> ([Double], [Int]) {
        let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3])
        let oh = (h - 1) * s - 2 * p + k, ow = (wd - 1) * s - 2 * p + k
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n { for ci in 0..<c { for i in 0..<h { for j in 0..<wd {
            let v = Double(x[((b * c + ci) * h + i) * wd + j])
            for oc in 0..<o { for ky in 0..<k { for kx in 0..<k {
                let yy = s * i + ky - p, xx = s * j + kx - p
                guard (0..<oh).contains(yy), (0..<ow).contains(xx) else { continue }
                y[((b * o + oc) * oh + yy) * ow + xx] += v * Double(w[((ci * o + oc) * k + ky) * k + kx])
            } } }
        } } } }
        return (y, [n, o, oh, ow])
    }

    // MARK: - Forward against references

    func testSigmoidTanhAndBCEAgainstDouble() throws {
        var rng = TestRNG(seed: 1)
        let x = rng.floats(37, -6, 6) + [-100, -30, 0, 30, 100]
        let t = rng.floats(x.count, 0, 1)
        for backend in TestBackends.all {
            let xt = try Tensor(x, shape: [x.count], on: backend)
            assertClose(try xt.sigmoid().array(), x.map { Self.sigmoid(Double($0)) }, tolerance: 1e-6, "\(backend.label) sigmoid")
            assertClose(try xt.tanh().array(), x.map { Foundation.tanh(Double($0)) }, tolerance: 1e-6, "\(backend.label) tanh")
            // Fused kernels against their references composed of other primitives, values and gradients.
            assertClose(try xt.sigmoid().array(), try xt.sigmoidReference().array(), tolerance: 1e-6, "\(backend.label) sigmoid vs reference")
            assertClose(try xt.tanh().array(), try xt.tanhReference().array(), tolerance: 1e-6, "\(backend.label) tanh vs reference")
            let leaf = xt.requiringGrad()
            for (fused, reference) in [(try leaf.sigmoid(), try leaf.sigmoidReference()), (try leaf.tanh(), try leaf.tanhReference())] {
                let a = try XCTUnwrap(Autograd.gradients(of: fused.sum(), wrt: [leaf])[0]).array()
                let b = try XCTUnwrap(Autograd.gradients(of: reference.sum(), wrt: [leaf])[0]).array()
                assertClose(a, b, tolerance: 1e-5, "\(backend.label) fused vs reference gradient")
            }
            let loss = try Tensor.binaryCrossEntropy(logits: xt, targets: Tensor(t, shape: [t.count], on: backend)).array()
            assertClose(loss, zip(x, t).map { Self.bce(Double($0), Double($1)) }, tolerance: 1e-6, "\(backend.label) BCE")
            XCTAssertTrue(loss.allSatisfy(\.isFinite), "\(backend.label): BCE not finite at |logit| 100")
            let mean = try Tensor.binaryCrossEntropy(logits: xt, target: 1).item()
            XCTAssertEqual(Double(mean), x.map { Self.bce(Double($0), 1) }.reduce(0, +) / Double(x.count), accuracy: 1e-4)
        }
    }

    func testLogSoftmaxAndCrossEntropyAgainstDouble() throws {
        var rng = TestRNG(seed: 2)
        let k = 7
        let x = rng.floats(3 * k, -4, 4).enumerated().map { $0.offset == 5 ? 90 : $0.element }   // one large logit
        for backend in TestBackends.all {
            let xt = try Tensor(x, shape: [3, k], on: backend)
            let ref = Self.logSoftmax(x, classes: k)
            assertClose(try xt.logSoftmax().array(), ref, tolerance: 1e-6, "\(backend.label) logSoftmax")
            assertClose(try xt.logSoftmaxReference().array(), ref, tolerance: 1e-6, "\(backend.label) logSoftmaxReference")
            let leaf = xt.requiringGrad()
            let probe = try Tensor((0..<x.count).map { Float($0 % 5) - 2 }, shape: [3, k], on: backend)
            let a = try XCTUnwrap(Autograd.gradients(of: (leaf.logSoftmax() * probe).sum(), wrt: [leaf])[0]).array()
            let b = try XCTUnwrap(Autograd.gradients(of: (leaf.logSoftmaxReference() * probe).sum(), wrt: [leaf])[0]).array()
            assertClose(a, b, tolerance: 1e-5, "\(backend.label) logSoftmax gradient vs reference")
            let ce = try Tensor.crossEntropy(logits: xt, targets: Tensor.oneHot([2, 0, 6], classes: k, on: backend)).item()
            XCTAssertEqual(Double(ce), -(ref[2] + ref[k] + ref[2 * k + 6]) / 3, accuracy: 1e-5, "\(backend.label) cross-entropy")
        }
        XCTAssertThrowsError(try Tensor.oneHot([3], classes: 3, on: TestBackends.cpu))
    }

    func testBatchNormAgainstDouble() throws {
        var rng = TestRNG(seed: 3)
        let (n, c, h, w) = (3, 5, 3, 2)
        let x = rng.floats(n * c * h * w, -2, 3), gamma = rng.floats(c, 0.5, 1.5), beta = rng.floats(c)
        for backend in TestBackends.all {
            let (y, batch) = try Tensor.batchNorm(Tensor(x, shape: [n, c, h, w], on: backend), gamma: Tensor(gamma, shape: [c], on: backend),
                                                  beta: Tensor(beta, shape: [c], on: backend))
            assertClose(try y.array(), Self.batchNorm(x, n: n, c: c, inner: h * w, gamma: gamma, beta: beta), tolerance: 1e-5,
                        "\(backend.label) batchNorm 4-D")
            XCTAssertEqual(batch?.countPerChannel, n * h * w)
            // Inference with the batch's own statistics reproduces the training output.
            let (yi, none) = try Tensor.batchNorm(Tensor(x, shape: [n, c, h, w], on: backend), gamma: Tensor(gamma, shape: [c], on: backend),
                                                  beta: Tensor(beta, shape: [c], on: backend), running: (batch!.mean, batch!.variance))
            XCTAssertNil(none)
            assertClose(try yi.array(), try y.array(), tolerance: 1e-6, "\(backend.label) batchNorm inference")
            // The fused kernels against the reference composed of other primitives, values and gradients.
            let xl = try Tensor(x, shape: [n, c, h, w], on: backend).requiringGrad()
            let gl = try Tensor(gamma, shape: [c], on: backend).requiringGrad(), bl = try Tensor(beta, shape: [c], on: backend).requiringGrad()
            let probe = try Tensor((0..<x.count).map { Float($0 % 7) - 3 }, shape: [n, c, h, w], on: backend)
            for stats in [nil, (batch!.mean, try batch!.variance * 1.5)] {
                let fused = try Tensor.batchNorm(xl, gamma: gl, beta: bl, running: stats).output
                let reference = try Tensor.batchNormReference(xl, gamma: gl, beta: bl, running: stats)
                assertClose(try fused.array(), try reference.array(), tolerance: 1e-5, "\(backend.label) batchNorm vs reference")
                let a = try Autograd.gradients(of: (fused * probe).sum(), wrt: [xl, gl, bl])
                let b = try Autograd.gradients(of: (reference * probe).sum(), wrt: [xl, gl, bl])
                for (ga, gb) in zip(a, b) {
                    assertClose(try XCTUnwrap(ga).array(), try XCTUnwrap(gb).array(), tolerance: 1e-4, "\(backend.label) batchNorm gradient vs reference")
                }
            }
            let x2 = Array(x[0..<(4 * c)])
            let (y2, _) = try Tensor.batchNorm(Tensor(x2, shape: [4, c], on: backend), gamma: Tensor(gamma, shape: [c], on: backend),
                                               beta: Tensor(beta, shape: [c], on: backend))
            assertClose(try y2.array(), Self.batchNorm(x2, n: 4, c: c, inner: 1, gamma: gamma, beta: beta), tolerance: 1e-5,
                        "\(backend.label) batchNorm 2-D")
        }
    }

    func testBatchNormLayerRunningStatistics() throws {
        var rng = TestRNG(seed: 4)
        let x = rng.floats(4 * 2 * 3, -1, 2)
        var initializer = ParameterInitializer(backend: TestBackends.cpu, seed: 0)
        let layer = try BatchNormLayer("bn", channels: 2, momentum: 0.25, init: &initializer)
        _ = try layer(Tensor(x, shape: [4, 2, 3], on: TestBackends.cpu).reshaped([4, 2, 3, 1]), training: true)
        for ch in 0..<2 {
            let values = (0..<4).flatMap { b in (0..<3).map { Double(x[(b * 2 + ch) * 3 + $0]) } }
            let mean = values.reduce(0, +) / 12
            let unbiased = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 11
            XCTAssertEqual(Double(try layer.runningMean.value.array()[ch]), 0.25 * mean, accuracy: 1e-5)
            XCTAssertEqual(Double(try layer.runningVariance.value.array()[ch]), 0.75 + 0.25 * unbiased, accuracy: 1e-5)
        }
    }

    func testConvTransposeAgainstScatterLoops() throws {
        var rng = TestRNG(seed: 5)
        for (xs, o, k, s, p) in [([2, 3, 3, 5], 4, 4, 2, 1), ([1, 2, 4, 3], 3, 3, 1, 0), ([3, 1, 2, 2], 2, 4, 2, 1)] {
            let x = rng.floats(xs.reduce(1, *)), w = rng.floats(xs[1] * o * k * k)
            let (ref, shape) = Self.convTranspose(x, xs, w, outChannels: o, k: k, stride: s, padding: p)
            for backend in TestBackends.all {
                let y = try Tensor.convTranspose2d(Tensor(x, shape: xs, on: backend), weight: Tensor(w, shape: [xs[1], o, k, k], on: backend),
                                                   stride: s, padding: p)
                XCTAssertEqual(y.shape, shape)
                assertClose(try y.array(), ref, tolerance: 1e-5, "\(backend.label) convTranspose2d \(xs) k\(k) s\(s) p\(p)")
            }
        }
        XCTAssertThrowsError(try Tensor.convTranspose2d(Tensor.zeros([1, 2, 3, 3], on: TestBackends.cpu),
                                                        weight: Tensor.zeros([3, 2, 4, 4], on: TestBackends.cpu)))
    }

    // MARK: - Gradients (finite differences)

    func testGradientsByFiniteDifferences() throws {
        var rng = TestRNG(seed: 6)
        for backend in TestBackends.all {
            try checkGradients(on: backend, [GradInput(values: rng.floats(11, -3, 3), shape: [11])], "sigmoid") { try $0[0].sigmoid() }
            try checkGradients(on: backend, [GradInput(values: rng.floats(11, -2, 2), shape: [11])], "tanh") { try $0[0].tanh() }
            try checkGradients(on: backend, [GradInput(values: rng.floats(9, -4, 4), shape: [9]), GradInput(values: rng.floats(9, 0, 1), shape: [9])],
                               "BCE") { try Tensor.binaryCrossEntropy(logits: $0[0], targets: $0[1]) }
            try checkGradients(on: backend, [GradInput(values: rng.floats(15, -3, 3), shape: [3, 5])], "logSoftmax") { try $0[0].logSoftmax() }
            let onehot = try Tensor.oneHot([1, 4, 0], classes: 5, on: backend)
            try checkGradients(on: backend, [GradInput(values: rng.floats(15, -3, 3), shape: [3, 5])], "crossEntropy") {
                try Tensor.crossEntropy(logits: $0[0], targets: onehot)
            }
            try checkGradients(on: backend, [GradInput(values: rng.floats(30, -2, 2), shape: [3, 2, 5, 1]),
                                             GradInput(values: rng.floats(2, 0.5, 1.5), shape: [2]), GradInput(values: rng.floats(2), shape: [2])],
                               tolerance: 5e-3, "batchNorm") { try Tensor.batchNorm($0[0], gamma: $0[1], beta: $0[2]).output }
            try checkGradients(on: backend, [GradInput(values: rng.floats(2 * 3 * 3 * 2), shape: [2, 3, 3, 2]),
                                             GradInput(values: rng.floats(3 * 2 * 16), shape: [3, 2, 4, 4])], "convTranspose2d") {
                try Tensor.convTranspose2d($0[0], weight: $0[1])
            }
        }
    }

    /// The fused ops' VJPs are recorded with Engine ops, so their gradients have gradients: finite differences of the
    /// first gradient (taken with `createGraph`) against its autograd gradient.
    func testSecondDerivativesByFiniteDifferences() throws {
        var rng = TestRNG(seed: 10)
        for backend in TestBackends.all {
            let probe5 = try Tensor(rng.floats(15), shape: [3, 5], on: backend)
            try checkGradients(on: backend, [GradInput(values: rng.floats(15, -2, 2), shape: [3, 5])], tolerance: 5e-3, "logSoftmax double backward") { t in
                let x = t[0].requiresGrad ? t[0] : t[0].requiringGrad()
                // Recording on even inside the finite-difference evaluations (which run without gradients).
                return try Autograd.withGrad { try XCTUnwrap(Autograd.gradients(of: (x.logSoftmax() * probe5).sum(), wrt: [x], createGraph: true)[0]) }
            }
            let probe = try Tensor(rng.floats(24), shape: [4, 2, 3, 1], on: backend)
            let gamma = try Tensor([0.7, 1.3], shape: [2], on: backend), beta = try Tensor([0.1, -0.2], shape: [2], on: backend)
            try checkGradients(on: backend, [GradInput(values: rng.floats(24, -2, 2), shape: [4, 2, 3, 1])], tolerance: 1e-2, "batchNorm double backward") { t in
                let x = t[0].requiresGrad ? t[0] : t[0].requiringGrad()
                return try Autograd.withGrad {
                    let y = try Tensor.batchNorm(x, gamma: gamma, beta: beta).output
                    return try XCTUnwrap(Autograd.gradients(of: (y * probe).sum(), wrt: [x], createGraph: true)[0])
                }
            }
        }
    }

    // MARK: - Parity (OpenCL vs CPU, values and gradients)

    /// log_softmax.cl against the CPU backend and a Double reference on raw buffers, output poisoned, rows of 1 and 13.
    func testLogSoftmaxKernelOpenCLMatchesCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        var rng = TestRNG(seed: 9)
        for (rows, classes) in [(67, 13), (5, 1), (1, 300)] {
            let x = rng.floats(rows * classes, -40, 40)
            var outs: [[Float]] = []
            for backend in [cl, TestBackends.cpu] {
                let y = try backend.poisoned(rows * classes + 1)
                try backend.logSoftmax(rows: rows, classes: classes, x: try backend.buffer(x), y: y)
                let all = try backend.array(y)
                XCTAssertTrue(all.last!.isNaN, "\(backend.label): logSoftmax wrote past the output")
                outs.append(Array(all.dropLast()))
            }
            let ref = Self.logSoftmax(x, classes: classes)
            for o in outs { assertClose(o, ref, tolerance: 1e-6, "logSoftmax [\(rows), \(classes)]") }
            assertClose(outs[0], outs[1], tolerance: 1e-6, "OpenCL vs CPU logSoftmax [\(rows), \(classes)]")
        }
    }

    /// batch_norm.cl against the CPU backend on raw buffers, outputs poisoned with NaN (and one extra element that
    /// must stay NaN), channels not a multiple of the work-group, rows longer than it.
    func testBatchNormKernelsOpenCLMatchCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        var rng = TestRNG(seed: 8)
        for s in [BatchNormShape(outer: 3, channels: 5, inner: 37, epsilon: 1e-5), BatchNormShape(outer: 65, channels: 3, inner: 1, epsilon: 1e-3),
                  BatchNormShape(outer: 1, channels: 7, inner: 129, epsilon: 0)] {
            let x = rng.floats(s.count, -2, 5), g = rng.floats(s.channels, 0.5, 2), b = rng.floats(s.channels)
            var results: [[[Float]]] = []
            for backend in [cl, TestBackends.cpu] {
                let mean = try backend.poisoned(s.channels + 1), variance = try backend.poisoned(s.channels + 1), y = try backend.poisoned(s.count + 1)
                let xb = try backend.buffer(x)
                try backend.batchNormStatistics(s, x: xb, mean: mean, variance: variance)
                try backend.batchNormApply(s, x: xb, mean: mean, variance: variance, gamma: try backend.buffer(g), beta: try backend.buffer(b), y: y)
                let outs = [try backend.array(mean), try backend.array(variance), try backend.array(y)]
                for o in outs { XCTAssertTrue(o.last!.isNaN, "\(backend.label) \(s): wrote past the output") }
                results.append(outs.map { Array($0.dropLast()) })
            }
            // Double reference of the statistics.
            var refMean: [Double] = [], refVar: [Double] = []
            for ch in 0..<s.channels {
                let v = (0..<s.outer).flatMap { o in (0..<s.inner).map { Double(x[(o * s.channels + ch) * s.inner + $0]) } }
                let m = v.reduce(0, +) / Double(v.count)
                refMean.append(m)
                refVar.append(v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count))
            }
            for r in results {
                assertClose(r[0], refMean, tolerance: 1e-5, "\(s) mean")
                assertClose(r[1], refVar, tolerance: 1e-5, "\(s) variance")
            }
            for (a, b) in zip(results[0], results[1]) { assertClose(a, b, tolerance: 1e-5, "OpenCL vs CPU \(s)") }
        }
    }

    func testOpenCLMatchesCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        var rng = TestRNG(seed: 7)
        let x4 = rng.floats(3 * 5 * 7 * 3, -3, 3), g5 = rng.floats(5, 0.5, 1.5), b5 = rng.floats(5)
        let w = rng.floats(5 * 3 * 16), logits = rng.floats(3 * 11, -5, 5), targets = rng.floats(3 * 11, 0, 1)
        /// Every op's outputs and its gradients w.r.t. every input, on one backend.
        func run(_ backend: any Backend) throws -> [(String, [Float])] {
            let x = try Tensor(x4, shape: [3, 5, 7, 3], on: backend).requiringGrad()
            let gamma = try Tensor(g5, shape: [5], on: backend).requiringGrad(), beta = try Tensor(b5, shape: [5], on: backend).requiringGrad()
            let weight = try Tensor(w, shape: [5, 3, 4, 4], on: backend).requiringGrad()
            let l = try Tensor(logits, shape: [3, 11], on: backend).requiringGrad()
            let t = try Tensor(targets, shape: [3, 11], on: backend)
            let outputs: [(String, Tensor, [Tensor])] = [
                ("sigmoid", try l.sigmoid(), [l]), ("tanh", try l.tanh(), [l]),
                ("bce", try Tensor.binaryCrossEntropy(logits: l, targets: t), [l]),
                ("logSoftmax", try l.logSoftmax(), [l]),
                ("batchNorm", try Tensor.batchNorm(x, gamma: gamma, beta: beta).output, [x, gamma, beta]),
                ("convTranspose2d", try Tensor.convTranspose2d(x, weight: weight), [x, weight]),
            ]
            var result: [(String, [Float])] = []
            for (name, y, inputs) in outputs {
                result.append((name, try y.array()))
                let probe = try Tensor((0..<y.count).map { Float(($0 * 7919) % 13) / 13 - 0.5 }, shape: y.shape, on: backend)
                let grads = try Autograd.gradients(of: (y * probe).sum(), wrt: inputs)
                for (i, g) in grads.enumerated() { result.append(("\(name) grad \(i)", try XCTUnwrap(g).array())) }
            }
            return result
        }
        for ((name, a), (_, b)) in zip(try run(cl), try run(TestBackends.cpu)) {
            assertClose(a, b, tolerance: 1e-5, "OpenCL vs CPU: \(name)")
        }
    }
}
