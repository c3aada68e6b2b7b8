import Engine
import TestSupport
import Foundation
import XCTest

/// modconv.cl / CPUBackend+Modconv: weight modulation against Double references and finite
/// differences, the fused StyleGAN2 modulated convolution, and OpenCL-vs-CPU parity.
final class ModconvTests: XCTestCase {
    /// Rows longer than one work-group (I·K = 300) and (o, k) reductions longer than one (O·K = 270).
    static let cases: [ModulateShape] = [
        ModulateShape(batch: 1, outChannels: 5, inChannels: 3, kernelSize: 9),
        ModulateShape(batch: 3, outChannels: 6, inChannels: 5, kernelSize: 1, demodulate: false),
        ModulateShape(batch: 2, outChannels: 3, inChannels: 7, kernelSize: 9),
        ModulateShape(batch: 3, outChannels: 4, inChannels: 300, kernelSize: 1),
        ModulateShape(batch: 2, outChannels: 30, inChannels: 6, kernelSize: 9, demodulate: false),
        ModulateShape(batch: 2, outChannels: 30, inChannels: 6, kernelSize: 9),
    ]

    struct Data {
        let w: [Float], s: [Float], g: [Float]
        init(_ m: ModulateShape, seed: UInt64) {
            var rng = TestRNG(seed: seed)
            w = rng.floats(m.weightCount)
            s = rng.floats(m.batch * m.inChannels, 0.2, 1.5)
            g = rng.floats(m.modulatedCount)
        }
    }

    /// w', dw, ds of one backend, outputs NaN-poisoned first.
    static func run(_ backend: any Backend, _ m: ModulateShape, _ d: Data) throws -> (w: [Float], dw: [Float], ds: [Float]) {
        let w = try backend.buffer(d.w), s = try backend.buffer(d.s), g = try backend.buffer(d.g)
        let out = try backend.poisoned(m.modulatedCount)
        let dw = try backend.poisoned(m.weightCount), ds = try backend.poisoned(m.batch * m.inChannels)
        try backend.modulateWeights(m, weight: w, styles: s, modulated: out)
        try backend.modulateWeightsBackward(m, weight: w, styles: s, gradModulated: g, gradWeight: dw, gradStyles: ds)
        return (try backend.array(out), try backend.array(dw), try backend.array(ds))
    }

    func testModulateMatchesReference() throws {
        for (index, m) in Self.cases.enumerated() {
            let d = Data(m, seed: UInt64(200 + index))
            let w = d.w.map(Double.init), s = d.s.map(Double.init), g = d.g.map(Double.init)
            let want = ModulateReference.forward(m, w: w, s: s)
            let grads = ModulateReference.backward(m, w: w, s: s, g: g)
            for backend in TestBackends.all {
                let got = try Self.run(backend, m, d)
                assertClose(got.w, want, tolerance: 1e-6, "\(backend.label) modulateWeights \(m)")
                assertClose(got.dw, grads.dw, tolerance: 1e-5, "\(backend.label) modulate dw \(m)")
                assertClose(got.ds, grads.ds, tolerance: 1e-5, "\(backend.label) modulate ds \(m)")
            }
        }
    }

    /// Backward against central differences in Double of the scalar loss `Σ g·w'(w, s)`.
    func testModulateBackwardMatchesFiniteDifferences() throws {
        for (index, m) in Self.cases.enumerated() where m.modulatedCount <= 400 {
            let d = Data(m, seed: UInt64(300 + index))
            var w = d.w.map(Double.init), s = d.s.map(Double.init)
            let g = d.g.map(Double.init)
            func loss() -> Double { zip(ModulateReference.forward(m, w: w, s: s), g).reduce(0) { $0 + $1.0 * $1.1 } }
            let h = 1e-5
            var fdW = [Double](repeating: 0, count: w.count), fdS = [Double](repeating: 0, count: s.count)
            for j in w.indices {
                let keep = w[j]
                w[j] = keep + h; let up = loss()
                w[j] = keep - h; let down = loss()
                w[j] = keep
                fdW[j] = (up - down) / (2 * h)
            }
            for j in s.indices {
                let keep = s[j]
                s[j] = keep + h; let up = loss()
                s[j] = keep - h; let down = loss()
                s[j] = keep
                fdS[j] = (up - down) / (2 * h)
            }
            // The analytic Double rule itself, then every backend.
            let analytic = ModulateReference.backward(m, w: w, s: s, g: g)
            assertClose(analytic.dw.map(Float.init), fdW, tolerance: 1e-6, "reference dw vs finite differences \(m)")
            assertClose(analytic.ds.map(Float.init), fdS, tolerance: 1e-6, "reference ds vs finite differences \(m)")
            for backend in TestBackends.all {
                let got = try Self.run(backend, m, d)
                assertClose(got.dw, fdW, tolerance: 1e-5, "\(backend.label) dw vs finite differences \(m)")
                assertClose(got.ds, fdS, tolerance: 1e-5, "\(backend.label) ds vs finite differences \(m)")
            }
        }
    }

    /// Hand-checked: w = [[1, 2]], s = [[3, 0.5]]: u = [3, 1], d = 1/√10.
    func testModulateHandCheckedValues() throws {
        let m = ModulateShape(batch: 1, outChannels: 1, inChannels: 2, kernelSize: 1, epsilon: 0)
        for backend in TestBackends.all {
            let out = try backend.poisoned(2)
            try backend.modulateWeights(m, weight: try backend.buffer([1, 2]), styles: try backend.buffer([3, 0.5]), modulated: out)
            assertClose(try backend.array(out), [3 / 10.0.squareRoot(), 1 / 10.0.squareRoot()], tolerance: 1e-6, "\(backend.label) hand-checked")
        }
    }

    /// StyleGAN2 fused modulated convolution: modulateWeights, then conv2d over x viewed as
    /// `[1, N·I, H, W]` with weight `[N·O, I, kh, kw]` and groups = N, against a naive Double modconv.
    func testFusedModulatedConvolutionMatchesReference() throws {
        let layers: [(n: Int, i: Int, o: Int, h: Int, w: Int, k: Int, demodulate: Bool)] = [
            (3, 5, 4, 7, 9, 3, true),      // 3×3 conv, padding 1
            (2, 6, 3, 13, 11, 1, false),   // toRGB: 1×1 without demodulation
        ]
        for (index, l) in layers.enumerated() {
            var rng = TestRNG(seed: UInt64(400 + index))
            let x = rng.floats(l.n * l.i * l.h * l.w), w = rng.floats(l.o * l.i * l.k * l.k)
            let s = rng.floats(l.n * l.i, 0.2, 1.5)
            let m = ModulateShape(batch: l.n, outChannels: l.o, inChannels: l.i, kernelSize: l.k * l.k, demodulate: l.demodulate)
            let conv = Conv2dShape(batch: 1, inChannels: l.n * l.i, outChannels: l.n * l.o, height: l.h, width: l.w,
                                   kernelH: l.k, kernelW: l.k, padH: l.k / 2, padW: l.k / 2, groups: l.n)
            let want = ModulateReference.modulatedConv(m, x: x, w: w, s: s, height: l.h, width: l.w, kernel: l.k)
            for backend in TestBackends.all {
                let modulated = try backend.poisoned(m.modulatedCount), y = try backend.poisoned(conv.outputCount)
                try backend.modulateWeights(m, weight: try backend.buffer(w), styles: try backend.buffer(s), modulated: modulated)
                try backend.conv2d(conv, input: try backend.buffer(x), weight: modulated, output: y)
                assertClose(try backend.array(y), want, tolerance: 1e-5, "\(backend.label) fused modconv \(l)")
            }
        }
    }

    func testModconvParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        let shapes = Self.cases + [ModulateShape(batch: 4, outChannels: 40, inChannels: 300, kernelSize: 9)]
        for (index, m) in shapes.enumerated() {
            let d = Data(m, seed: UInt64(500 + index))
            let want = try Self.run(TestBackends.cpu, m, d), got = try Self.run(cl, m, d)
            assertClose(got.w, want.w, tolerance: 1e-6, "parity modulateWeights \(m)")
            assertClose(got.dw, want.dw, tolerance: 1e-5, "parity modulate dw \(m)")
            assertClose(got.ds, want.ds, tolerance: 1e-5, "parity modulate ds \(m)")
        }
    }

    func testModulateRejectsShortBuffers() throws {
        let m = ModulateShape(batch: 2, outChannels: 3, inChannels: 4, kernelSize: 9)
        for backend in TestBackends.all {
            let w = try backend.allocate(m.weightCount), s = try backend.allocate(8), short = try backend.allocate(m.modulatedCount - 1)
            XCTAssertThrowsError(try backend.modulateWeights(m, weight: w, styles: s, modulated: short), backend.label)
            XCTAssertThrowsError(try backend.modulateWeightsBackward(m, weight: w, styles: s, gradModulated: short,
                                                                     gradWeight: w, gradStyles: s), backend.label)
        }
    }
}

/// Plain-loop Double modulation, its hand-derived gradient and the modulated convolution.
enum ModulateReference {
    static func demodulation(_ m: ModulateShape, w: [Double], s: [Double], n: Int, o: Int) -> Double {
        guard m.demodulate else { return 1 }
        let I = m.inChannels, K = m.kernelSize
        var sum = 0.0
        for i in 0..<I { for k in 0..<K { let u = w[(o * I + i) * K + k] * s[n * I + i]; sum += u * u } }
        return 1 / (sum + Double(m.epsilon)).squareRoot()
    }

    static func forward(_ m: ModulateShape, w: [Double], s: [Double]) -> [Double] {
        let I = m.inChannels, K = m.kernelSize
        var out = [Double](repeating: 0, count: m.modulatedCount)
        for n in 0..<m.batch {
            for o in 0..<m.outChannels {
                let d = demodulation(m, w: w, s: s, n: n, o: o)
                for i in 0..<I {
                    for k in 0..<K { out[((n * m.outChannels + o) * I + i) * K + k] = w[(o * I + i) * K + k] * s[n * I + i] * d }
                }
            }
        }
        return out
    }

    /// dw, ds from ∂L/∂u = d·g − d³·u·Σ g·u.
    static func backward(_ m: ModulateShape, w: [Double], s: [Double], g: [Double]) -> (dw: [Double], ds: [Double]) {
        let O = m.outChannels, I = m.inChannels, K = m.kernelSize
        var dw = [Double](repeating: 0, count: m.weightCount), ds = [Double](repeating: 0, count: m.batch * I)
        for n in 0..<m.batch {
            for o in 0..<O {
                let d = demodulation(m, w: w, s: s, n: n, o: o)
                let row = (n * O + o) * I * K
                var dot = 0.0
                for i in 0..<I { for k in 0..<K { dot += g[row + i * K + k] * w[(o * I + i) * K + k] * s[n * I + i] } }
                let c = m.demodulate ? d * d * d * dot : 0
                for i in 0..<I {
                    for k in 0..<K {
                        let wi = (o * I + i) * K + k
                        let gu = d * g[row + i * K + k] - c * w[wi] * s[n * I + i]
                        dw[wi] += gu * s[n * I + i]
                        ds[n * I + i] += gu * w[wi]
                    }
                }
            }
        }
        return (dw, ds)
    }

    /// y[n, o] = Σ_{i, ky, kx} w[o, i, ky, kx]·s[n, i]·d[n, o]·x[n, i, y + ky − k/2, x + kx − k/2].
    static func modulatedConv(_ m: ModulateShape, x: [Float], w: [Float], s: [Float], height H: Int, width W: Int, kernel k: Int) -> [Double] {
        let wd = w.map(Double.init), sd = s.map(Double.init)
        let O = m.outChannels, I = m.inChannels, pad = k / 2
        var y = [Double](repeating: 0, count: m.batch * O * H * W)
        for n in 0..<m.batch {
            for o in 0..<O {
                let d = demodulation(m, w: wd, s: sd, n: n, o: o)
                for oy in 0..<H {
                    for ox in 0..<W {
                        var acc = 0.0
                        for i in 0..<I {
                            for ky in 0..<k {
                                let iy = oy + ky - pad
                                guard iy >= 0, iy < H else { continue }
                                for kx in 0..<k {
                                    let ix = ox + kx - pad
                                    guard ix >= 0, ix < W else { continue }
                                    acc += wd[((o * I + i) * k + ky) * k + kx] * sd[n * I + i] * Double(x[((n * I + i) * H + iy) * W + ix])
                                }
                            }
                        }
                        y[((n * O + o) * H + oy) * W + ox] = acc * d
                    }
                }
            }
        }
        return y
    }
}
