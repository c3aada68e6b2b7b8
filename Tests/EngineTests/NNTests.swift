import Engine
import TestSupport
import Foundation
import XCTest

/// Layers, optimizers and checkpoints: small nets must fit a target identically on both backends,
/// memory must stay flat across steps, and parameters must survive a safetensors round trip.
final class NNTests: XCTestCase {
    /// Trains `steps` Adam steps of a 3 → 16 → 16 → 2 MLP on a fixed regression target; returns the losses.
    func trainMLP(on backend: any Backend, steps: Int) throws -> [Float] {
        var rng = ParameterInitializer(backend: backend, seed: 7)
        let fc1 = try FullyConnected("fc1", in: 3, out: 16, activation: .leakyReLU, init: &rng)
        let fc2 = try FullyConnected("fc2", in: 16, out: 16, activation: .leakyReLU, init: &rng)
        let fc3 = try FullyConnected("fc3", in: 16, out: 2, init: &rng)
        var params = fc1.parameters
        params.append(contentsOf: fc2.parameters)
        params.append(contentsOf: fc3.parameters)
        var data = TestRNG(seed: 8)
        let xs = data.floats(32 * 3)
        let ys = (0..<32).flatMap { i -> [Float] in
            let (a, b, c) = (xs[3 * i], xs[3 * i + 1], xs[3 * i + 2])
            return [0.5 * a - b * c, 0.3 + 0.2 * a * b]
        }
        let x = try Tensor(xs, shape: [32, 3], on: backend), y = try Tensor(ys, shape: [32, 2], on: backend)
        let adam = Adam(learningRate: 0.01, beta1: 0.9, beta2: 0.99)
        var losses: [Float] = []
        for _ in 0..<steps {
            let loss = try (fc3(fc2(fc1(x))) - y).map(.square).mean()
            losses.append(try loss.item())
            try params.backward(loss)
            try adam.update(params)
        }
        return losses
    }

    func testTinyMLPFitsTargetOnEveryBackendIdentically() throws {
        var finals: [Float] = []
        for backend in TestBackends.all {
            let losses = try trainMLP(on: backend, steps: 300)
            XCTAssertLessThan(losses.last!, losses.first! / 100, "\(backend.label): loss \(losses.first!) -> \(losses.last!)")
            finals.append(losses.last!)
        }
        if finals.count == 2 {
            XCTAssertEqual(Double(finals[1]), Double(finals[0]), accuracy: 1e-4 * Double(abs(finals[0])) + 1e-9,
                           "OpenCL vs CPU final loss")
        }
    }

    /// A two-conv net fitting a fixed 8x8 target image; returns the losses.
    func trainConvNet(on backend: any Backend, steps: Int, measure: ((Int) -> Void)? = nil) throws -> [Float] {
        var rng = ParameterInitializer(backend: backend, seed: 9)
        let c1 = try Conv2dLayer("c1", in: 2, out: 8, kernel: 3, activation: .leakyReLU, init: &rng)
        let c2 = try Conv2dLayer("c2", in: 8, out: 1, kernel: 3, init: &rng)
        var params = c1.parameters
        params.append(contentsOf: c2.parameters)
        var data = TestRNG(seed: 10)
        let x = try Tensor(data.floats(2 * 2 * 8 * 8), shape: [2, 2, 8, 8], on: backend)
        let target = try Tensor((0..<128).map { i in Float(sin(Double(i) * 0.3)) * 0.5 }, shape: [2, 1, 8, 8], on: backend)
        let adam = Adam(learningRate: 0.02, beta1: 0.9, beta2: 0.99)
        var losses: [Float] = []
        for step in 0..<steps {
            let loss = try (c2(c1(x)) - target).map(.square).mean()
            losses.append(try loss.item())
            try params.backward(loss)
            try adam.update(params)
            measure?(step)
        }
        return losses
    }

    func testTinyConvNetFitsTargetOnEveryBackendIdentically() throws {
        var finals: [Float] = []
        for backend in TestBackends.all {
            let losses = try trainConvNet(on: backend, steps: 250)
            XCTAssertLessThan(losses.last!, losses.first! / 100, "\(backend.label): loss \(losses.first!) -> \(losses.last!)")
            finals.append(losses.last!)
        }
        if finals.count == 2 {
            XCTAssertEqual(Double(finals[1]), Double(finals[0]), accuracy: 1e-4 * Double(abs(finals[0])) + 1e-9,
                           "OpenCL vs CPU final loss")
        }
    }

    /// 100 forward/backward/update steps: bytes held after step 10 and after step 100 are the same
    /// (the graph is freed every step, buffers are reused).
    func testMemoryIsFlatAcrossSteps() throws {
        for backend in TestBackends.all {
            var at10 = 0, at100 = 0
            _ = try trainConvNet(on: backend, steps: 100) { step in
                if step == 9 { at10 = backend.allocatedBytes }
                if step == 99 { at100 = backend.allocatedBytes }
            }
            print("memory \(backend.label): \(at10) bytes after 10 steps, \(at100) after 100")
            XCTAssertGreaterThan(at10, 0)
            XCTAssertLessThanOrEqual(at100, at10, "\(backend.label): memory grew from \(at10) to \(at100) bytes")
        }
    }

    func testParametersRoundTripThroughSafetensors() throws {
        let backend = TestBackends.cpu
        var rng = ParameterInitializer(backend: backend, seed: 11)
        let fc = try FullyConnected("net.fc", in: 5, out: 3, init: &rng)
        let path = NSTemporaryDirectory() + "histogan-params-\(getpid()).safetensors"
        defer { unlink(path) }
        try fc.parameters.save(to: path, metadata: ["step": "12"])
        var other = ParameterInitializer(backend: backend, seed: 12)
        let fresh = try FullyConnected("net.fc", in: 5, out: 3, init: &other)
        XCTAssertNotEqual(try fresh.weight.value.array(), try fc.weight.value.array())
        try fresh.parameters.load(from: path)
        XCTAssertEqual(try fresh.weight.value.array(), try fc.weight.value.array())
        XCTAssertEqual(try fresh.bias!.value.array(), try fc.bias!.value.array())
        XCTAssertEqual(try SafeTensors.read(path).metadata["step"], "12")
        // Python's reference reader agrees on the layout when numpy is present: header length + JSON + data.
        let wrong = try FullyConnected("net.fc", in: 4, out: 3, init: &other)
        XCTAssertThrowsError(try wrong.parameters.load(from: path)) { XCTAssertTrue("\($0)".contains("net.fc.weight"), "\($0)") }
        XCTAssertThrowsError(try SafeTensors.read(path + ".missing")) { XCTAssertTrue("\($0)".contains(".missing"), "\($0)") }
    }

    func testEMAAndEqualizedLearningRate() throws {
        for backend in TestBackends.all {
            var rng = ParameterInitializer(backend: backend, seed: 13)
            let fc = try FullyConnected("fc", in: 4, out: 2, lrMultiplier: 0.01, init: &rng)
            // Stored weights are N(0,1)/lrMul: their RMS is ~100; the effective weight is stored·lrMul/√4.
            let stored = try fc.weight.value.array()
            let rms = (stored.map { Double($0 * $0) }.reduce(0, +) / Double(stored.count)).squareRoot()
            XCTAssertGreaterThan(rms, 30, "weights stored as N(0,1)/lrMultiplier")
            let x = try Tensor([1, 0, 0, 0], shape: [1, 4], on: backend)
            let y = try fc(x).array()
            assertClose(y, [Double(stored[0]) * 0.01 / 2, Double(stored[4]) * 0.01 / 2], tolerance: 1e-6, "\(backend.label) equalized lr")

            var other = ParameterInitializer(backend: backend, seed: 14)
            let ema = try FullyConnected("fc", in: 4, out: 2, lrMultiplier: 0.01, init: &other)
            let before = try ema.weight.value.array()
            try EMA.update(ema.parameters, toward: fc.parameters, beta: 0.9)
            assertClose(try ema.weight.value.array(), zip(before, stored).map { Double($1) + (Double($0) - Double($1)) * 0.9 },
                        tolerance: 1e-6, "\(backend.label) EMA")
        }
        XCTAssertEqual(Double(EMA.beta(halfLifeImages: 10_000, batchSize: 32)), pow(0.5, 32.0 / 10_000), accuracy: 1e-7)
    }

    /// `FullyConnected(x, gain:)` (toRGB's style gain, in the bias_act store): for a linear layer (toRGB's affine) the
    /// bits of the layer's output times the gain, as the separate scaling it replaced, forward and backward; for leaky
    /// ReLU the same to rounding; and by hand: with one input 1 the output is (w·g + b)·gain.
    func testFullyConnectedOutputGain() throws {
        for backend in TestBackends.all {
            for activation in [Activation.linear, .leakyReLU] {
                var rng = ParameterInitializer(backend: backend, seed: 21)
                let fc = try FullyConnected("fc", in: 6, out: 5, activation: activation, biasInit: 0.5, init: &rng)
                var data = TestRNG(seed: 22)
                let values = data.floats(18), probe = try Tensor(data.floats(15), shape: [3, 5], on: backend)
                func run(_ f: (Tensor) throws -> Tensor) throws -> (y: [Float], dx: [Float], dw: [Float]) {
                    let x = try Tensor(values, shape: [3, 6], on: backend).requiringGrad()
                    let y = try f(x)
                    let grads = try Autograd.gradients(of: (y * probe).sum(), wrt: [x, fc.weight.value])
                    return (try y.array(), try grads[0]!.array(), try grads[1]!.array())
                }
                let gain: Float = 1 / Float(6).squareRoot()
                let folded = try run { try fc($0, gain: gain) }
                let separate = try run { try fc($0) * gain }
                if activation == .linear {
                    XCTAssertEqual(folded.y, separate.y, "\(backend.label) linear output")
                    XCTAssertEqual(folded.dx, separate.dx, "\(backend.label) linear dx")
                    XCTAssertEqual(folded.dw, separate.dw, "\(backend.label) linear dw")
                } else {
                    // act·(√2·gain) against (act·√2)·gain: one rounding apart.
                    assertClose(folded.y, separate.y, tolerance: 1e-6, "\(backend.label) lrelu output")
                    assertClose(folded.dx, separate.dx, tolerance: 1e-6, "\(backend.label) lrelu dx")
                    assertClose(folded.dw, separate.dw, tolerance: 1e-6, "\(backend.label) lrelu dw")
                }
            }
            var rng = ParameterInitializer(backend: backend, seed: 23)
            let fc = try FullyConnected("fc", in: 4, out: 2, biasInit: 1, init: &rng)
            let w = try fc.weight.value.array()
            let y = try fc(Tensor([0, 0, 1, 0], shape: [1, 4], on: backend), gain: 0.25).array()
            assertClose(y, [(Double(w[2]) / 2 + 1) * 0.25, (Double(w[6]) / 2 + 1) * 0.25], tolerance: 1e-6, "\(backend.label) by hand")
        }
    }

    /// A layer with a learning-rate multiplier (the mapping network's 0.01), which the layer moves from its bias into the
    /// GEMM's alpha and the bias_act gain, against float64 loops of `y = act(x·(w·g)ᵀ + b·m)·√2·gain` (g = m/√in): the
    /// output and the gradients of x, w and b, linear and leaky ReLU (biases of both signs, so the slope matters).
    func testFullyConnectedLrMultiplier() throws {
        let (n, inF, outF, m, gain) = (3, 6, 5, Float(0.01), Float(0.7))
        for backend in TestBackends.all {
            for activation in [Activation.linear, .leakyReLU] {
                var rng = ParameterInitializer(backend: backend, seed: 31)
                let fc = try FullyConnected("fc", in: inF, out: outF, activation: activation, lrMultiplier: m, init: &rng)
                var data = TestRNG(seed: 32)
                let xs = data.floats(n * inF), probes = data.floats(n * outF), bs = data.floats(outF).map { $0 * 150 }
                try fc.bias!.assign(Tensor(bs, shape: [outF], on: backend))
                let ws = try fc.weight.value.array()
                let x = try Tensor(xs, shape: [n, inF], on: backend).requiringGrad()
                let y = try fc(x, gain: gain)
                let grads = try Autograd.gradients(of: (y * Tensor(probes, shape: [n, outF], on: backend)).sum(),
                                                   wrt: [x, fc.weight.value, fc.bias!.value])
                let g = Double(m) / Double(inF).squareRoot(), k = Double(activation.defaultGain * gain)
                var want = (y: [Double](repeating: 0, count: n * outF), dx: [Double](repeating: 0, count: n * inF),
                            dw: [Double](repeating: 0, count: outF * inF), db: [Double](repeating: 0, count: outF))
                for i in 0..<n {
                    for o in 0..<outF {
                        var pre = Double(bs[o]) * Double(m)
                        for j in 0..<inF { pre += Double(xs[i * inF + j]) * Double(ws[o * inF + j]) * g }
                        let slope = activation == .leakyReLU && pre <= 0 ? 0.2 : 1.0
                        want.y[i * outF + o] = pre * slope * k
                        let dpre = Double(probes[i * outF + o]) * slope * k
                        want.db[o] += dpre * Double(m)
                        for j in 0..<inF {
                            want.dx[i * inF + j] += dpre * Double(ws[o * inF + j]) * g
                            want.dw[o * inF + j] += dpre * Double(xs[i * inF + j]) * g
                        }
                    }
                }
                let what = "\(backend.label) \(activation)"
                assertClose(try y.array(), want.y, tolerance: 1e-5, "\(what) output")
                assertClose(try grads[0]!.array(), want.dx, tolerance: 1e-5, "\(what) dx")
                assertClose(try grads[1]!.array(), want.dw, tolerance: 1e-5, "\(what) dw")
                assertClose(try grads[2]!.array(), want.db, tolerance: 1e-5, "\(what) db")
            }
        }
    }

    /// The discriminator's down-sampling layers (NVlabs conv2d_resample, down 2): blur by [1,3,3,1] with the layer's
    /// padding, then a stride-2 conv, against a float64 loop, on 9x7 inputs (odd, so the last row and column matter).
    /// The 1x1 layer (the skip) runs the FIR down-sampling first and a stride-1 conv; its gradients equal those of
    /// the full-resolution blur and stride-2 conv it replaced, within rounding.
    func testDownSamplingConvLayers() throws {
        let (n, c, o, h, w) = (2, 3, 4, 9, 7)
        var data = TestRNG(seed: 31)
        let values = data.floats(n * c * h * w), probe = data.floats(n * o * 4 * 3)
        let taps: [Double] = [1, 3, 3, 1].map { $0 / 8 }
        for backend in TestBackends.all {
            for kernel in [1, 3] {
                var rng = ParameterInitializer(backend: backend, seed: 32)
                let layer = try Conv2dLayer("d", in: c, out: o, kernel: kernel, bias: false, down: 2, init: &rng)
                let weight = try layer.weight.value.array().map(Double.init)
                // Blur with padding p0 = ⌈p/2⌉, p = 2 + (k − 1), then the stride-2 conv without padding.
                let p0 = (2 + kernel) / 2, p1 = (1 + kernel) / 2
                let bh = h + p0 + p1 - 3, bw = w + p0 + p1 - 3, oh = (bh - kernel) / 2 + 1, ow = (bw - kernel) / 2 + 1
                XCTAssertEqual([oh, ow], [4, 3], "output size")
                func x(_ b: Int, _ ch: Int, _ i: Int, _ j: Int) -> Double {
                    (0..<h).contains(i) && (0..<w).contains(j) ? Double(values[((b * c + ch) * h + i) * w + j]) : 0
                }
                func blurred(_ b: Int, _ ch: Int, _ i: Int, _ j: Int) -> Double {
                    var sum = 0.0
                    for a in 0..<4 { for e in 0..<4 { sum += taps[a] * taps[e] * x(b, ch, i + a - p0, j + e - p0) } }
                    return sum
                }
                let gain = 1 / Double(c * kernel * kernel).squareRoot()
                var want: [Double] = []
                for b in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
                    var sum = 0.0
                    for ch in 0..<c { for ky in 0..<kernel { for kx in 0..<kernel {
                        sum += weight[((oc * c + ch) * kernel + ky) * kernel + kx] * blurred(b, ch, 2 * i + ky, 2 * j + kx)
                    } } }
                    want.append(sum * gain)
                } } } }
                let input = try Tensor(values, shape: [n, c, h, w], on: backend).requiringGrad()
                let y = try layer(input)
                XCTAssertEqual(y.shape, [n, o, oh, ow])
                assertClose(try y.array(), want, tolerance: 1e-5, "\(backend.label) k\(kernel) forward")
                guard kernel == 1 else { continue }
                // The formulation the 1x1 fast path replaced: full-resolution blur, then a stride-2 1x1 conv.
                let filter = try Tensor.firFilter([1, 3, 3, 1], on: backend)
                let r = try Tensor(probe, shape: [n, o, oh, ow], on: backend)
                func gradients(_ f: (Tensor) throws -> Tensor) throws -> [[Float]] {
                    let x = try Tensor(values, shape: [n, c, h, w], on: backend).requiringGrad()
                    return try Autograd.gradients(of: (f(x) * r).sum(), wrt: [x, layer.weight.value]).map { try $0!.array() }
                }
                let fast = try gradients { try layer($0) }
                let full = try gradients {
                    let blur = try Tensor.upfirdn2d($0, filter: filter, padding: (1, 1, 1, 1))
                    return try Tensor.conv2d(blur, weight: layer.weight.value * Float(gain), stride: 2, padding: 0)
                }
                assertClose(fast[0], full[0].map(Double.init), tolerance: 1e-6, "\(backend.label) 1x1 dx")
                assertClose(fast[1], full[1].map(Double.init), tolerance: 1e-6, "\(backend.label) 1x1 dw")
            }
        }
    }
}
