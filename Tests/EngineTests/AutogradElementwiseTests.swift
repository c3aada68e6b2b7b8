import Engine
import TestSupport
import XCTest

/// Finite-difference checks of the elementwise, reduction and layout VJPs on every backend.
final class AutogradElementwiseTests: XCTestCase {
    func testUnaryGradients() throws {
        var rng = TestRNG(seed: 20)
        let cases: [(UnaryOp, ClosedRange<Float>)] = [
            (.neg, -2...2), (.sqrt, 0.5...3), (.rsqrt, 0.5...3), (.exp, -2...2), (.log, 0.5...3), (.square, -2...2),
            (.abs, 0.2...2), (.softplus, -3...3), (.relu, 0.2...2), (.reciprocal, 0.5...3), (.leakyReLU(alpha: 0.2), 0.1...2),
            (.scale(-1.5), -2...2), (.addScalar(3), -2...2), (.powScalar(2.5), 0.5...2),
            (.sigmoid, -4...4), (.tanh, -2...2),
        ]
        for backend in TestBackends.all {
            for (op, range) in cases {
                var values = rng.floats(13, range.lowerBound, range.upperBound)
                if case .abs = op { values = values.enumerated().map { $0.offset % 2 == 0 ? $0.element : -$0.element } }
                try checkGradients(on: backend, [GradInput(values: values, shape: [13])], "\(op)") { try $0[0].map(op) }
            }
        }
    }

    func testBinaryGradientsWithBroadcasting() throws {
        var rng = TestRNG(seed: 21)
        for backend in TestBackends.all {
            for op in [BinaryOp.add, .sub, .mul, .div, .pow, .maximum, .minimum] {
                // For max/min keep |a − b| far above h: even columns of a below b, odd columns above.
                let a = GradInput(values: (0..<12).map { i in rng.uniform(0.5, 0.9) + (i % 2 == 1 ? 1.1 : 0) }, shape: [3, 4])
                let b = GradInput(values: rng.floats(4, 1.1, 1.4), shape: [1, 4])
                try checkGradients(on: backend, [a, b], "\(op)") { try Tensor.binary(op, $0[0], $0[1]) }
            }
        }
    }

    func testReductionAndLayoutGradients() throws {
        var rng = TestRNG(seed: 22)
        let shape = [2, 3, 5]
        for backend in TestBackends.all {
            let x = GradInput(values: rng.floats(30), shape: shape)
            try checkGradients(on: backend, [x], "sum axes [1]") { try $0[0].sum(axes: [1]) }
            try checkGradients(on: backend, [x], "mean axes [0,2]") { try $0[0].mean(axes: [0, 2]) }
            try checkGradients(on: backend, [x], "sumOfSquares all") { try $0[0].sumOfSquares() }
            try checkGradients(on: backend, [x], "permute") { try $0[0].permuted([2, 0, 1]) * $0[0].permuted([2, 0, 1]) }
            try checkGradients(on: backend, [x], "slice") { try $0[0].sliced(axis: 2, 1..<4).map(.square) }
            try checkGradients(on: backend, [x, GradInput(values: rng.floats(10), shape: [2, 1, 5])], "concat") {
                try Tensor.concat([$0[0], $0[1]], axis: 1).map(.square)
            }
            try checkGradients(on: backend, [GradInput(values: rng.floats(5), shape: [1, 5])], "expand") {
                try $0[0].expanded(to: [3, 5]) * Tensor((0..<15).map(Float.init), shape: [3, 5], on: backend)
            }
            try checkGradients(on: backend, [GradInput(values: rng.floats(6), shape: [2, 3])], "repeat") {
                try $0[0].repeated([2, 3]).map(.square)
            }
            try checkGradients(on: backend, [x], "reshape") { try $0[0].reshaped([5, 6]).map(.exp) }
            try checkGradients(on: backend, [x, GradInput(values: rng.floats(30), shape: shape)], "select") {
                try Tensor.select($0[0], $0[0], $0[1])
            }
        }
    }

    func testMatmulGradients() throws {
        var rng = TestRNG(seed: 23)
        for backend in TestBackends.all {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = GradInput(values: rng.floats(2 * 3 * 4), shape: ta ? [2, 4, 3] : [2, 3, 4])
                let b = GradInput(values: rng.floats(2 * 4 * 5), shape: tb ? [2, 5, 4] : [2, 4, 5])
                try checkGradients(on: backend, [a, b], "matmul tA=\(ta) tB=\(tb)") {
                    try Tensor.matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
                }
                let shared = GradInput(values: rng.floats(20), shape: tb ? [5, 4] : [4, 5])
                try checkGradients(on: backend, [a, shared], "matmul broadcast B tA=\(ta) tB=\(tb)") {
                    try Tensor.matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
                }
                try checkGradients(on: backend, [a, shared], "matmul alpha -0.37 tA=\(ta) tB=\(tb)") {
                    try Tensor.matmul($0[0], $0[1], transposeA: ta, transposeB: tb, alpha: -0.37)
                }
            }
        }
    }

    /// `alpha` scales the product: against a Double loop, batch of 2 with a broadcast B.
    func testMatmulAlphaMatchesNaiveProduct() throws {
        var rng = TestRNG(seed: 24)
        let a = rng.floats(2 * 3 * 4), b = rng.floats(4 * 5)
        var want = [Double](repeating: 0, count: 2 * 3 * 5)
        for t in 0..<2 { for i in 0..<3 { for j in 0..<5 { for k in 0..<4 {
            want[(t * 3 + i) * 5 + j] += -0.37 * Double(a[(t * 3 + i) * 4 + k]) * Double(b[k * 5 + j])
        } } } }
        for backend in TestBackends.all {
            let y = try Tensor.matmul(try Tensor(a, shape: [2, 3, 4], on: backend), try Tensor(b, shape: [4, 5], on: backend), alpha: -0.37)
            assertClose(try y.array(), want, tolerance: 1e-6, "\(backend.label) matmul alpha")
        }
    }

    /// Gradients of gradients: d/dx of (d/dx Σ x³)² = d/dx (3x²)² = 36x³.
    func testDoubleBackwardThroughElementwise() throws {
        for backend in TestBackends.all {
            let values: [Float] = [0.5, -1.25, 2]
            let x = try Tensor(values, shape: [3], on: backend).requiringGrad()
            let y = try x.map(.powScalar(3)).sum()
            let g = try Autograd.gradients(of: y, wrt: [x], createGraph: true)[0]!
            let penalty = try g.map(.square).sum()
            let gg = try Autograd.gradients(of: penalty, wrt: [x])[0]!
            assertClose(try gg.array(), values.map { 36 * Double($0) * Double($0) * Double($0) }, tolerance: 1e-5,
                        "\(backend.label) double backward")
        }
    }

    func testNoGradModeRecordsNothing() throws {
        let backend = TestBackends.cpu
        let x = try Tensor([1, 2], shape: [2], on: backend).requiringGrad()
        let y = try Autograd.withoutGrad { try x.map(.exp) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(try x.map(.exp).requiresGrad)
    }
}
