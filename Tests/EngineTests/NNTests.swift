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
}
