import Engine
import TestSupport
import XCTest

/// The reverse pass computes only what leads to the requested inputs: the same gradients, fewer kernels.
final class GradientPruningTests: XCTestCase {
    /// loss = Σ (matmul(flatten(lrelu(conv(x, w) + b)), v) · c)²: x, w, b, v, c all require gradients.
    static func graph(on backend: any Backend) throws -> (loss: Tensor, inputs: [Tensor]) {
        var rng = TestRNG(seed: 21)
        let x = try Tensor(rng.floats(2 * 3 * 5 * 5), shape: [2, 3, 5, 5], on: backend).requiringGrad()
        let w = try Tensor(rng.floats(4 * 3 * 3 * 3), shape: [4, 3, 3, 3], on: backend).requiringGrad()
        let b = try Tensor(rng.floats(4), shape: [4], on: backend).requiringGrad()
        let v = try Tensor(rng.floats(100 * 6), shape: [100, 6], on: backend).requiringGrad()
        let c = try Tensor(rng.floats(6), shape: [6], on: backend).requiringGrad()
        let h = try Tensor.conv2d(x, weight: w, padding: 1).biasAct(bias: b, activation: .leakyReLU)
        let y = try Tensor.matmul(h.reshaped([2, 100]), v) * c
        return (try y.map(.square).sum(), [x, w, b, v, c])
    }

    func testGradientsOfASubsetEqualThoseOfTheWholeSet() throws {
        for backend in TestBackends.all {
            let (loss, inputs) = try Self.graph(on: backend)
            let all = try Autograd.gradients(of: loss, wrt: inputs).map { try $0!.array() }
            for subset in [[0], [1], [2], [3], [4], [0, 3]] {
                let some = try Autograd.gradients(of: loss, wrt: subset.map { inputs[$0] })
                for (k, i) in subset.enumerated() {
                    XCTAssertEqual(try some[k]!.array(), all[i], "input \(i) of \(subset) on \(backend.info.selector)")
                }
            }
        }
    }

    func testGradientsOfTheInputAloneLaunchFewerKernels() throws {
        let cl = try TestBackends.requireOpenCL()
        let (loss, inputs) = try Self.graph(on: cl)
        func launches(_ wrt: [Tensor]) throws -> Int {
            try cl.synchronize()
            let before = cl.kernelLaunches!
            _ = try Autograd.gradients(of: loss, wrt: wrt)
            try cl.synchronize()
            return cl.kernelLaunches! - before
        }
        let all = try launches(inputs), inputOnly = try launches([inputs[0]])
        // Skipped: the gradients of w (conv2dGradWeight), b (a reduction), v (a GEMM) and c (a product and a
        // reduction).
        XCTAssertLessThanOrEqual(inputOnly, all - 4, "wrt x: \(inputOnly) launches, wrt all: \(all)")
    }
}
