import Engine
import TestSupport
import Foundation
import XCTest

/// modconv.cl `demodulate_*` / CPUBackend.demodulation: the split modconv's demodulation coefficients
/// d[n,o] = rsqrt(Σ_{i,k} (w·s)² + 1e-8) against a Double loop, OpenCL-vs-CPU parity with poisoned outputs, first
/// gradients (the fused backward kernels) and second derivatives (the composed VJP) by finite differences.
final class DemodulationTests: XCTestCase {
    /// (N, O, I, kernel taps): a 3x3 layer, a 1x1 layer, a single row, and rows longer than a work-group.
    static let shapes = [(3, 5, 7, 9), (2, 4, 6, 1), (1, 1, 3, 9), (2, 3, 40, 9)]

    static func reference(n: Int, o: Int, i: Int, k: Int, w: [Float], s: [Float]) -> [Double] {
        var d = [Double](repeating: 0, count: n * o)
        for a in 0..<n {
            for b in 0..<o {
                var sum = 0.0
                for c in 0..<i { for t in 0..<k { let u = Double(w[(b * i + c) * k + t]) * Double(s[a * i + c]); sum += u * u } }
                d[a * o + b] = 1 / (sum + 1e-8).squareRoot()
            }
        }
        return d
    }

    /// The backward formulas written out in Double: ds[n,i] = −s·Σ_{o,k} gd·d³·w², dw = −w·Σ_n gd·d³·s².
    static func referenceBackward(n: Int, o: Int, i: Int, k: Int, w: [Float], s: [Float], gd: [Float]) -> (dw: [Double], ds: [Double]) {
        let d = reference(n: n, o: o, i: i, k: k, w: w, s: s)
        var dw = [Double](repeating: 0, count: o * i * k), ds = [Double](repeating: 0, count: n * i)
        for a in 0..<n {
            for b in 0..<o {
                let t = Double(gd[a * o + b]) * d[a * o + b] * d[a * o + b] * d[a * o + b]
                for c in 0..<i {
                    let sv = Double(s[a * i + c])
                    for q in 0..<k {
                        let wv = Double(w[(b * i + c) * k + q])
                        dw[(b * i + c) * k + q] -= wv * t * sv * sv
                        ds[a * i + c] -= sv * t * wv * wv
                    }
                }
            }
        }
        return (dw, ds)
    }

    /// d, dw, ds of one backend through the raw backend calls, outputs NaN-poisoned first.
    static func run(_ backend: any Backend, n: Int, o: Int, i: Int, k: Int, w: [Float], s: [Float], gd: [Float]) throws -> [[Float]] {
        let shape = ModulateShape(batch: n, outChannels: o, inChannels: i, kernelSize: k)
        let wb = try backend.buffer(w), sb = try backend.buffer(s)
        let d = try backend.poisoned(n * o), dw = try backend.poisoned(o * i * k), ds = try backend.poisoned(n * i)
        try backend.demodulation(shape, weight: wb, styles: sb, coefficients: d)
        try backend.demodulationBackward(shape, weight: wb, styles: sb, coefficients: d, gradCoefficients: try backend.buffer(gd),
                                         gradWeight: dw, gradStyles: ds)
        return try [d, dw, ds].map { try backend.array($0) }
    }

    func testKernelsMatchDoubleLoops() throws {
        var rng = TestRNG(seed: 91)
        for (n, o, i, k) in Self.shapes {
            let w = rng.floats(o * i * k), s = rng.floats(n * i, -1.5, 1.5), gd = rng.floats(n * o)
            let want = Self.reference(n: n, o: o, i: i, k: k, w: w, s: s)
            let grads = Self.referenceBackward(n: n, o: o, i: i, k: k, w: w, s: s, gd: gd)
            for backend in TestBackends.all {
                let got = try Self.run(backend, n: n, o: o, i: i, k: k, w: w, s: s, gd: gd)
                let what = "\(backend.label) N\(n) O\(o) I\(i) K\(k)"
                assertClose(got[0], want, tolerance: 1e-6, "\(what) d")
                assertClose(got[1], grads.dw, tolerance: 1e-5, "\(what) dw")
                assertClose(got[2], grads.ds, tolerance: 1e-5, "\(what) ds")
            }
        }
    }

    func testParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        var rng = TestRNG(seed: 92)
        for (n, o, i, k) in Self.shapes {
            let w = rng.floats(o * i * k), s = rng.floats(n * i, -1.5, 1.5), gd = rng.floats(n * o)
            let a = try Self.run(cl, n: n, o: o, i: i, k: k, w: w, s: s, gd: gd)
            let b = try Self.run(TestBackends.cpu, n: n, o: o, i: i, k: k, w: w, s: s, gd: gd)
            for (name, x, y) in [("d", a[0], b[0]), ("dw", a[1], b[1]), ("ds", a[2], b[2])] {
                assertClose(x, y, tolerance: 1e-5, "parity N\(n) O\(o) I\(i) K\(k) \(name)")
            }
        }
    }

    /// The op equals its composed reference, and its first gradients (fused backward kernels) match finite differences.
    func testOpAndGradients() throws {
        var rng = TestRNG(seed: 93)
        for backend in TestBackends.all {
            let w = GradInput(values: rng.floats(4 * 3 * 9), shape: [4, 3, 3, 3])
            let s = GradInput(values: rng.floats(2 * 3, 0.5, 1.5), shape: [2, 3])
            let wt = try Tensor(w.values, shape: w.shape, on: backend), st = try Tensor(s.values, shape: s.shape, on: backend)
            assertClose(try Tensor.demodulationCoefficients(wt, styles: st).array(),
                        try Tensor.demodulationCoefficientsReference(wt, styles: st).array(), tolerance: 1e-6,
                        "\(backend.label) op vs composed reference")
            try checkGradients(on: backend, [w, s], "demodulationCoefficients") {
                try Tensor.demodulationCoefficients($0[0], styles: $0[1])
            }
        }
    }

    /// Second derivatives through the composed VJP (what the path-length regulariser differentiates).
    func testSecondDerivativesByFiniteDifferences() throws {
        var rng = TestRNG(seed: 94)
        for backend in TestBackends.all {
            let w = GradInput(values: rng.floats(3 * 2 * 9), shape: [3, 2, 3, 3])
            let s = GradInput(values: rng.floats(2 * 2, 0.5, 1.5), shape: [2, 2])
            let probe = try Tensor(rng.floats(2 * 3), shape: [2, 3], on: backend)
            let f: ([Tensor]) throws -> Tensor = { try Tensor.demodulationCoefficients($0[0], styles: $0[1]) }
            try ScaledConv2dTests.assertRecordedMatchesFused(backend, [w, s], probe, "demodulationCoefficients", f)
            try checkGradients(on: backend, [w, s], tolerance: 5e-3, "demodulationCoefficients double backward") { t in
                try ScaledConv2dTests.firstGradients(t, probe, f)
            }
        }
    }
}
