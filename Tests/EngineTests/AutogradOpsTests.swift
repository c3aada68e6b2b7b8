import Engine
import TestSupport
import XCTest

/// Finite-difference checks of the VJPs of the fused ops (conv2d and its adjoints, modulated conv,
/// upfirdn2d, bias_act) on every backend, and the R1 double-backward check.
final class AutogradOpsTests: XCTestCase {
    func testConv2dGradients() throws {
        var rng = TestRNG(seed: 30)
        for backend in TestBackends.all {
            for (stride, groups, k) in [(1, 1, 3), (2, 1, 3), (1, 2, 1), (2, 3, 3)] {
                let c = 3 * groups
                let x = GradInput(values: rng.floats(2 * c * 7 * 6), shape: [2, c, 7, 6])
                let w = GradInput(values: rng.floats(2 * groups * 3 * k * k), shape: [2 * groups, 3, k, k])
                try checkGradients(on: backend, [x, w], "conv2d s=\(stride) g=\(groups) k=\(k)") {
                    try Tensor.conv2d($0[0], weight: $0[1], stride: stride, padding: k / 2, groups: groups)
                }
            }
        }
    }

    /// The adjoint ops are themselves differentiable (needed for R1 through the discriminator).
    func testConv2dAdjointOpGradients() throws {
        var rng = TestRNG(seed: 31)
        for backend in TestBackends.all {
            let dy = GradInput(values: rng.floats(1 * 4 * 4 * 3), shape: [1, 4, 4, 3])
            let w = GradInput(values: rng.floats(4 * 2 * 3 * 3), shape: [4, 2, 3, 3])
            try checkGradients(on: backend, [dy, w], "conv2dGradInput") {
                try Tensor.conv2dGradInput($0[0], weight: $0[1], inputShape: [1, 2, 7, 5], stride: 2, padding: 1)
            }
            let x = GradInput(values: rng.floats(1 * 2 * 7 * 5), shape: [1, 2, 7, 5])
            try checkGradients(on: backend, [x, dy], "conv2dGradWeight") {
                try Tensor.conv2dGradWeight($0[0], gradOutput: $0[1], weightShape: [4, 2, 3, 3], stride: 2, padding: 1)
            }
        }
    }

    func testModulatedConvGradients() throws {
        var rng = TestRNG(seed: 32)
        for backend in TestBackends.all {
            for demod in [true, false] {
                let x = GradInput(values: rng.floats(2 * 3 * 5 * 6), shape: [2, 3, 5, 6])
                let w = GradInput(values: rng.floats(4 * 3 * 3 * 3), shape: [4, 3, 3, 3])
                let s = GradInput(values: rng.floats(2 * 3, 0.5, 1.5), shape: [2, 3])
                try checkGradients(on: backend, [x, w, s], "modulatedConv2d demod=\(demod)") {
                    try Tensor.modulatedConv2d($0[0], weight: $0[1], styles: $0[2], demodulate: demod)
                }
            }
        }
    }

    /// The fused modulation kernel equals its composition from primitives, values and gradients.
    func testModulateWeightsFusedMatchesReference() throws {
        var rng = TestRNG(seed: 33)
        for backend in TestBackends.all {
            let w = try Tensor(rng.floats(5 * 3 * 9), shape: [5, 3, 3, 3], on: backend).requiringGrad()
            let s = try Tensor(rng.floats(2 * 3, 0.5, 1.5), shape: [2, 3], on: backend).requiringGrad()
            let probe = try Tensor(rng.floats(2 * 5 * 3 * 9), shape: [2, 5, 3, 3, 3], on: backend)
            let fused = try Tensor.modulateWeights(w, styles: s, demodulate: true)
            let reference = try Tensor.modulateWeightsReference(w, styles: s, demodulate: true)
            assertClose(try fused.array(), try reference.array(), tolerance: 1e-5, "\(backend.label) fused vs reference values")
            let gf = try Autograd.gradients(of: (fused * probe).sum(), wrt: [w, s])
            let gr = try Autograd.gradients(of: (reference * probe).sum(), wrt: [w, s])
            for i in 0..<2 {
                assertClose(try gf[i]!.array(), try gr[i]!.array(), tolerance: 1e-4, "\(backend.label) fused vs reference gradient \(i)")
            }
        }
    }

    func testUpfirdn2dGradients() throws {
        var rng = TestRNG(seed: 34)
        for backend in TestBackends.all {
            let f = try Tensor.firFilter([1, 3, 3, 1], on: backend)
            let x = GradInput(values: rng.floats(2 * 7 * 6), shape: [1, 2, 7, 6])
            try checkGradients(on: backend, [x], "upfirdn2d up2") {
                try Tensor.upfirdn2d($0[0], filter: f, up: 2, padding: (2, 1, 2, 1), gain: 4)
            }
            let y = GradInput(values: rng.floats(2 * 8 * 6), shape: [1, 2, 8, 6])
            try checkGradients(on: backend, [y], "upfirdn2d down2") {
                try Tensor.upfirdn2d($0[0], filter: f, down: 2, padding: (1, 1, 1, 1))
            }
        }
    }

    func testBiasActGradients() throws {
        var rng = TestRNG(seed: 35)
        for backend in TestBackends.all {
            // Keep values away from the kink at 0 and the clamp boundary.
            let values = rng.floats(2 * 3 * 5).map { $0 > 0 ? $0 + 0.1 : $0 - 0.1 }
            let x = GradInput(values: values, shape: [2, 3, 5])
            let b = GradInput(values: [0.02, -0.03, 0.01], shape: [3])
            try checkGradients(on: backend, [x, b], "biasAct lrelu") {
                try $0[0].biasAct(bias: $0[1], activation: .leakyReLU)
            }
            try checkGradients(on: backend, [x, b], "biasAct linear clamp") {
                try $0[0].biasAct(bias: $0[1], activation: .linear, gain: 3, clamp: 1.7)
            }
            // With StyleGAN2 noise (a constant plane per sample): gradients for x, bias and the strength.
            let noise = GradInput(values: rng.floats(2 * 5, -0.1, 0.1), shape: [2, 1, 5], differentiable: false)  // stays clear of the kink
            let strength = GradInput(values: [0.3], shape: [1])
            try checkGradients(on: backend, [x, b, noise, strength], "biasAct lrelu noise") {
                try $0[0].biasAct(bias: $0[1], activation: .leakyReLU, noise: $0[2], noiseStrength: $0[3])
            }
        }
    }

    /// R1 = ‖∇ₓ D(x)‖² for a two-layer conv net; its gradient w.r.t. the weights needs the gradient of a
    /// gradient. Checked against finite differences of R1 itself. R1 jumps where a leaky-ReLU input crosses 0,
    /// so every backend gets the same data, on which no sampled ±h step crosses a kink (a crossing shows up as a
    /// numeric derivative tens of times off).
    func testR1PenaltyDoubleBackward() throws {
        for backend in TestBackends.all {
            var rng = TestRNG(seed: 36)
            let x = GradInput(values: rng.floats(2 * 2 * 6 * 5), shape: [2, 2, 6, 5], differentiable: false)
            let w1 = GradInput(values: rng.floats(3 * 2 * 9), shape: [3, 2, 3, 3])
            let b1 = GradInput(values: [0.1, -0.2, 0.05], shape: [3])
            let w2 = GradInput(values: rng.floats(1 * 3 * 9), shape: [1, 3, 3, 3])
            try checkGradients(on: backend, [x, w1, b1, w2], h: 5e-3, tolerance: 5e-3, "R1 penalty") { t in try Autograd.withGrad {
                let input = t[0].requiringGrad()
                let h = try Tensor.conv2d(input, weight: t[1], padding: 1).biasAct(bias: t[2], activation: .leakyReLU)
                let d = try Tensor.conv2d(h, weight: t[3], stride: 2, padding: 1).map(.softplus).sum()
                let gx = try Autograd.gradients(of: d, wrt: [input], createGraph: true)[0]!
                return try gx.sumOfSquares()
            } }
        }
    }
}

/// `modulatedConv2dUp2`: NVlabs' up-sampling modulated conv (transposed conv, then FIR) against naive Double
/// loops written from its definition, on every backend, and its gradients by finite differences.
final class ModulatedConvUp2Tests: XCTestCase {
    /// Double reference: modulate (+ demodulate), scatter the stride-2 transposed conv, then the [1,3,3,1] FIR
    /// (sum 1) with gain 4 and one pixel of zero padding on every side.
    static func reference(x: [Float], w: [Float], s: [Float], n: Int, i: Int, o: Int, h: Int, wd: Int, demod: Bool) -> [Double] {
        let k = 3
        var wm = [Double](repeating: 0, count: n * o * i * k * k)
        for b in 0..<n {
            for oc in 0..<o {
                var norm = 0.0
                for c in 0..<i {
                    for t in 0..<(k * k) { let v: Double = Double(w[(oc * i + c) * k * k + t]) * Double(s[b * i + c]); norm += v * v }
                }
                let d: Double = demod ? 1 / (norm + 1e-8).squareRoot() : 1
                for c in 0..<i {
                    for t in 0..<(k * k) {
                        let v: Double = Double(w[(oc * i + c) * k * k + t]) * Double(s[b * i + c])
                        wm[((b * o + oc) * i + c) * k * k + t] = v * d
                    }
                }
            }
        }
        let (th, tw) = (2 * h + 1, 2 * wd + 1)
        var y = [Double](repeating: 0, count: n * o * th * tw)
        for b in 0..<n { for oc in 0..<o { for c in 0..<i { for r in 0..<h { for q in 0..<wd {
            let xv = Double(x[((b * i + c) * h + r) * wd + q])
            let plane = (b * o + oc) * th, wBase = ((b * o + oc) * i + c) * k * k
            for ky in 0..<k { for kx in 0..<k {
                let at: Int = (plane + 2 * r + ky) * tw + 2 * q + kx
                y[at] += xv * wm[wBase + ky * k + kx]
            } }
        } } } } }
        let f: [Double] = [1, 3, 3, 1].map { $0 / 8 }
        var z = [Double](repeating: 0, count: n * o * 4 * h * wd)
        for p in 0..<(n * o) { for r in 0..<(2 * h) { for q in 0..<(2 * wd) {
            var acc = 0.0
            for a in 0..<4 { for bb in 0..<4 {
                let yr: Int = r + a - 1, yq: Int = q + bb - 1      // one pixel of padding
                if yr >= 0, yr < th, yq >= 0, yq < tw { acc += f[a] * f[bb] * y[(p * th + yr) * tw + yq] }
            } }
            let at: Int = (p * 2 * h + r) * 2 * wd + q
            z[at] = 4 * acc
        } } }
        return z
    }

    func testMatchesNaiveLoopsOnEveryBackend() throws {
        var rng = TestRNG(seed: 71)
        let (n, i, o, h, w) = (2, 3, 5, 3, 5)
        for demod in [true, false] {
            let xv = rng.floats(n * i * h * w), wv = rng.floats(o * i * 9), sv = rng.floats(n * i, 0.3, 1.5)
            let expected = Self.reference(x: xv, w: wv, s: sv, n: n, i: i, o: o, h: h, wd: w, demod: demod)
            for backend in TestBackends.all {
                let out = try Tensor.modulatedConv2dUp2(Tensor(xv, shape: [n, i, h, w], on: backend),
                                                        weight: Tensor(wv, shape: [o, i, 3, 3], on: backend),
                                                        styles: Tensor(sv, shape: [n, i], on: backend),
                                                        filter: Tensor.firFilter([1, 3, 3, 1], on: backend), demodulate: demod)
                XCTAssertEqual(out.shape, [n, o, 2 * h, 2 * w])
                assertClose(try out.array(), expected, tolerance: 1e-5, "\(backend.label) modulatedConv2dUp2 demod=\(demod)")
            }
        }
    }

    func testGradientsByFiniteDifferences() throws {
        var rng = TestRNG(seed: 72)
        for backend in TestBackends.all {
            let x = GradInput(values: rng.floats(2 * 3 * 4 * 3), shape: [2, 3, 4, 3])
            let w = GradInput(values: rng.floats(4 * 3 * 9), shape: [4, 3, 3, 3])
            let s = GradInput(values: rng.floats(2 * 3, 0.5, 1.5), shape: [2, 3])
            try checkGradients(on: backend, [x, w, s], "modulatedConv2dUp2") {
                try Tensor.modulatedConv2dUp2($0[0], weight: $0[1], styles: $0[2], filter: Tensor.firFilter([1, 3, 3, 1], on: backend))
            }
        }
    }
}
