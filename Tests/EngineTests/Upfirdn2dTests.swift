import Engine
import TestSupport
import Foundation
import XCTest

/// upfirdn2d.cl / CPUBackend+Upfirdn2d: hand-worked values, a literal Double reference, the gradient
/// shape by the adjoint identity, and OpenCL-vs-CPU parity.
final class Upfirdn2dTests: XCTestCase {
    // MARK: - Reference

    /// NVlabs `_upfirdn2d_ref` done literally in Double: zero-insert, pad, crop, flip, correlate,
    /// downsample, times gain. x `[planes, inH, inW]`, f `[fh, fw]`.
    static func reference(_ x: [Double], _ f: [Double], _ s: Upfirdn2dShape) -> [Double] {
        let upH = s.inHeight * s.upY, upW = s.inWidth * s.upX
        // Padded size before cropping, and the crop window.
        let fullH = upH + max(s.padY0, 0) + max(s.padY1, 0), fullW = upW + max(s.padX0, 0) + max(s.padX1, 0)
        let rowLo = max(-s.padY0, 0), rowHi = fullH - max(-s.padY1, 0)
        let colLo = max(-s.padX0, 0), colHi = fullW - max(-s.padX1, 0)
        let h = rowHi - rowLo, w = colHi - colLo
        let (fh, fw) = (s.filterH, s.filterW)
        let weights = s.flipFilter ? f : Array(f.reversed())   // reversing [fh, fw] flips both axes
        var out: [Double] = []
        for p in 0..<s.planes {
            var full = [Double](repeating: 0, count: fullH * fullW)
            for iy in 0..<s.inHeight {
                for ix in 0..<s.inWidth {
                    let r = iy * s.upY + max(s.padY0, 0), c = ix * s.upX + max(s.padX0, 0)
                    full[r * fullW + c] = x[(p * s.inHeight + iy) * s.inWidth + ix]
                }
            }
            var r = 0
            while r <= h - fh {
                var c = 0
                while c <= w - fw {
                    var acc = 0.0
                    for ky in 0..<fh {
                        for kx in 0..<fw {
                            acc += full[(rowLo + r + ky) * fullW + colLo + c + kx] * weights[ky * fw + kx]
                        }
                    }
                    out.append(acc * Double(s.gain))
                    c += s.downX
                }
                r += s.downY
            }
        }
        precondition(out.count == s.outputCount, "reference produced \(out.count), shape says \(s.outputCount)")
        return out
    }

    /// Runs `backend.upfirdn2d` into a NaN-poisoned output with 5 spare elements, checking the spare
    /// elements stay untouched, and returns the output.
    static func run(_ backend: any Backend, _ s: Upfirdn2dShape, _ x: [Float], _ f: [Float],
                    file: StaticString = #filePath, line: UInt = #line) throws -> [Float] {
        let out = try backend.poisoned(s.outputCount + 5)
        try backend.upfirdn2d(s, input: try backend.buffer(x), filter: try backend.buffer(f), output: out)
        let all = try backend.array(out)
        XCTAssertTrue(all[s.outputCount...].allSatisfy(\.isNaN), "\(backend.label): wrote past the output", file: file, line: line)
        return Array(all[..<s.outputCount])
    }

    static func shape(planes: Int, _ h: Int, _ w: Int, up: (x: Int, y: Int) = (1, 1), down: (x: Int, y: Int) = (1, 1),
                      pad: (Int, Int, Int, Int) = (0, 0, 0, 0), filter: (h: Int, w: Int), flip: Bool = false,
                      gain: Float = 1) -> Upfirdn2dShape {
        var s = Upfirdn2dShape(planes: planes, inHeight: h, inWidth: w, pad: pad, filterH: filter.h, filterW: filter.w,
                               flipFilter: flip, gain: gain)
        s.upX = up.x; s.upY = up.y; s.downX = down.x; s.downY = down.y
        return s
    }

    /// [1,3,3,1] ⊗ [1,3,3,1] / 64.
    static let fir4x4: [Float] = {
        let t: [Float] = [1, 3, 3, 1]
        return t.flatMap { a in t.map { a * $0 / 64 } }
    }()

    /// Shapes covering up, down, both, non-square factors, negative pads, odd and tiny sizes, filters of
    /// 1-D and 2-D footprint, flip and gain (few distinct factor/filter sets: each costs a PoCL build); OpenCL tiles with several outputs per work-item, stacked
    /// planes, a local-memory-limited stack, and (last) a filter too large to tile (direct kernel).
    static let cases: [(String, Upfirdn2dShape)] = [
        ("up2 fir4", shape(planes: 3, 7, 9, up: (2, 2), pad: (2, 1, 2, 1), filter: (4, 4), gain: 4)),
        ("down2 fir4", shape(planes: 2, 13, 11, down: (2, 2), pad: (1, 1, 1, 1), filter: (4, 4))),
        ("blur fir4", shape(planes: 15, 13, 11, pad: (2, 1, 2, 1), filter: (4, 4))),
        ("up2 3x1", shape(planes: 3, 7, 9, up: (2, 2), pad: (0, 0, 1, 1), filter: (3, 1), gain: 2)),
        ("neg pads", shape(planes: 2, 13, 11, pad: (-1, -2, 1, -3), filter: (4, 4))),
        ("up2 down2 flip", shape(planes: 1, 7, 9, up: (2, 2), down: (2, 2), pad: (1, 2, 0, 3), filter: (3, 1), flip: true, gain: 1.7)),
        ("up3 down2 neg", shape(planes: 2, 9, 7, up: (3, 3), down: (2, 2), pad: (-2, 1, 3, -1), filter: (5, 4))),
        ("upX2 downY2", shape(planes: 3, 8, 5, up: (2, 1), down: (1, 2), pad: (1, 2, 2, 1), filter: (4, 3))),
        ("tiny up2", shape(planes: 70, 2, 2, up: (2, 2), pad: (2, 1, 2, 1), filter: (4, 4), gain: 4)),
        ("large up2", shape(planes: 2, 40, 70, up: (2, 2), pad: (2, 1, 2, 1), filter: (4, 4), gain: 4)),
        ("large down2", shape(planes: 2, 70, 140, down: (2, 2), pad: (1, 1, 1, 1), filter: (4, 4))),
        // Cropping pads on the CPU's vectorised row preparation: the 2x upsampled row ends one short of
        // the last inserted zero (pad1 = -1), the 2x downsampled row starts at an odd position.
        ("up2 crop", shape(planes: 2, 11, 17, up: (2, 2), pad: (-1, -1, 2, 1), filter: (4, 4), gain: 4)),
        ("down2 crop", shape(planes: 3, 9, 37, down: (2, 2), pad: (-3, -2, -1, 2), filter: (4, 4))),
        ("fewer planes per group", shape(planes: 5, 40, 40, down: (2, 2), filter: (20, 20))),
        ("big filter", shape(planes: 2, 60, 60, filter: (48, 48))),
    ]

    /// Random filters, so every case is asymmetric and flipping matters.
    static func filter(_ s: Upfirdn2dShape, _ rng: inout TestRNG) -> [Float] { rng.floats(s.filterCount, -0.5, 1) }

    // MARK: - Hand-worked values

    /// An impulse through NVlabs upsample2d in x only ([1,3,3,1]/8, pad 2/1, gain 2) gives the taps.
    func testImpulseUpsampleX2HandValues() throws {
        let s = Self.shape(planes: 1, 1, 3, up: (2, 1), pad: (2, 1, 0, 0), filter: (1, 4), gain: 2)
        XCTAssertEqual(s.outWidth, 6)
        for backend in TestBackends.all {
            let y = try Self.run(backend, s, [0, 1, 0], [1, 3, 3, 1].map { $0 / 8 })
            assertClose(y, [0, 0.25, 0.75, 0.75, 0.25, 0], tolerance: 1e-7, "\(backend.label) impulse up2")
        }
    }

    /// flipFilter false is a true convolution, true a correlation.
    func testFlipFilterHandValues() throws {
        for backend in TestBackends.all {
            for (flip, want) in [(false, [0.0, 1, 2, 3, 0]), (true, [0.0, 3, 2, 1, 0])] {
                let s = Self.shape(planes: 1, 1, 5, pad: (1, 1, 0, 0), filter: (1, 3), flip: flip)
                assertClose(try Self.run(backend, s, [0, 0, 1, 0, 0], [1, 2, 3]), want, tolerance: 0, "\(backend.label) flip \(flip)")
            }
        }
    }

    /// A 2-tap box then keep every second sample: pairwise means.
    func testDownsampleBoxHandValues() throws {
        let s = Self.shape(planes: 1, 2, 6, down: (2, 2), filter: (1, 2))
        XCTAssertEqual([s.outHeight, s.outWidth], [1, 3])
        for backend in TestBackends.all {
            let y = try Self.run(backend, s, [1, 2, 3, 4, 5, 6, 9, 9, 9, 9, 9, 9], [0.5, 0.5])
            assertClose(y, [1.5, 3.5, 5.5], tolerance: 1e-7, "\(backend.label) box down2")
        }
    }

    /// A 1×1 image upsampled 2× with the 4×4 FIR (pad 2/1, gain 4) is 2×2 of 4·(3/8)².
    func testImpulseUpsample2DHandValues() throws {
        let s = Self.shape(planes: 1, 1, 1, up: (2, 2), pad: (2, 1, 2, 1), filter: (4, 4), gain: 4)
        for backend in TestBackends.all {
            assertClose(try Self.run(backend, s, [1], Self.fir4x4), [Double](repeating: 0.5625, count: 4),
                        tolerance: 1e-7, "\(backend.label) 2-D impulse")
        }
    }

    // MARK: - Reference and gradient

    func testMatchesReferenceOnEveryBackend() throws {
        var rng = TestRNG(seed: 11)
        for (name, s) in Self.cases {
            let x = rng.floats(s.inputCount), f = Self.filter(s, &rng)
            let want = Self.reference(x.map(Double.init), f.map(Double.init), s)
            for backend in TestBackends.all {
                assertClose(try Self.run(backend, s, x, f), want, tolerance: 2e-6, "\(backend.label) \(name)")
            }
        }
    }

    func testGradientShapeMapsBackToInput() {
        for (name, s) in Self.cases {
            let g = Upfirdn2dShape.gradient(of: s)
            XCTAssertEqual([g.inHeight, g.inWidth], [s.outHeight, s.outWidth], name)
            XCTAssertEqual([g.outHeight, g.outWidth], [s.inHeight, s.inWidth], name)
            XCTAssertEqual([g.upX, g.upY, g.downX, g.downY], [s.downX, s.downY, s.upX, s.upY], name)
            XCTAssertEqual(g.flipFilter, !s.flipFilter, name)
            XCTAssertEqual(g.gradient.outputCount, s.outputCount, "\(name): gradient of gradient")
        }
        // When the downsampling uses every padded sample, the gradient of the gradient is the op itself.
        let s = Self.shape(planes: 1, 7, 9, up: (2, 2), down: (1, 1), pad: (2, 1, 2, 1), filter: (4, 4))
        XCTAssertEqual(s.gradient.gradient, s)
    }

    /// <up(x), y> = <x, upᵀ(y)> with upᵀ = the gradient shape, exactly (Double reference).
    func testGradientAdjointIdentityInDouble() {
        var rng = TestRNG(seed: 12)
        for (name, s) in Self.cases where s.inputCount * s.filterCount < 100_000 {
            let x = rng.floats(s.inputCount).map(Double.init), y = rng.floats(s.outputCount).map(Double.init)
            let f = rng.floats(s.filterCount).map(Double.init)
            let lhs = zip(Self.reference(x, f, s), y).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(x, Self.reference(y, f, s.gradient)).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-10 * max(1, abs(lhs)), name)
        }
    }

    /// The same identity through the backends' float32 kernels (OpenCL on a few cases: each new shape
    /// class costs a PoCL program build, and parity covers the rest).
    func testGradientAdjointIdentityOnEveryBackend() throws {
        var rng = TestRNG(seed: 13)
        let openCLCases: Set = ["up2 fir4", "down2 fir4", "tiny up2"]
        for backend in TestBackends.all {
            for (name, s) in Self.cases where backend === TestBackends.cpu || openCLCases.contains(name) {
                let x = rng.floats(s.inputCount), y = rng.floats(s.outputCount), f = rng.floats(s.filterCount)
                let fx = try Self.run(backend, s, x, f), gy = try Self.run(backend, s.gradient, y, f)
                let lhs = zip(fx, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let rhs = zip(x, gy).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let scale = zip(fx, y).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
                XCTAssertEqual(lhs, rhs, accuracy: 1e-5 * max(scale, 1), "\(backend.label) \(name)")
            }
        }
    }

    func testRejectsBadShapes() throws {
        for backend in TestBackends.all {
            let x = try backend.buffer([Float](repeating: 1, count: 16)), f = try backend.buffer([1, 1, 1, 1])
            let out = try backend.allocate(64)
            var zeroUp = Self.shape(planes: 1, 4, 4, filter: (2, 2)); zeroUp.upX = 0
            let tooSmall = Self.shape(planes: 1, 4, 4, pad: (-2, -1, 0, 0), filter: (2, 2))
            let tooFewInputs = Self.shape(planes: 2, 4, 4, filter: (2, 2))
            for s in [zeroUp, tooSmall, tooFewInputs] {
                XCTAssertThrowsError(try backend.upfirdn2d(s, input: x, filter: f, output: out), "\(backend.label) \(s)") {
                    guard case EngineError.shapeMismatch = $0 else { return XCTFail("\($0)") }
                }
            }
        }
    }

    // MARK: - Parity

    func testUpfirdn2dParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 14)
        let sizes = [(7, 9), (13, 11)], planes = [1, 15]
        let configs: [(String, up: Int, down: Int, pad: (Int, Int, Int, Int), filter: (h: Int, w: Int))] = [
            ("up2 4x4", 2, 1, (2, 1, 2, 1), (4, 4)),
            ("down2 4x4", 1, 2, (1, 1, 1, 1), (4, 4)),
            ("blur 4x4", 1, 1, (2, 1, 2, 1), (4, 4)),
            ("up2 3x1", 2, 1, (0, 0, 1, 1), (3, 1)),
            ("down2 neg", 1, 2, (-1, 2, 1, -2), (4, 4)),
            ("up2 down2 neg", 2, 2, (-2, 1, 0, -1), (3, 1)),
        ]
        for (h, w) in sizes {
            for n in planes {
                for c in configs {
                    for flip in [false, true] {
                        let s = Self.shape(planes: n, h, w, up: (c.up, c.up), down: (c.down, c.down), pad: c.pad,
                                           filter: c.filter, flip: flip, gain: 1.5)
                        let x = rng.floats(s.inputCount), f = rng.floats(s.filterCount, 0, 1)
                        let what = "\(c.0) \(n)x\(h)x\(w) flip \(flip)"
                        assertClose(try Self.run(cl, s, x, f), try Self.run(cpu, s, x, f), tolerance: 1e-6, "parity \(what)")
                        let dy = rng.floats(s.outputCount)
                        assertClose(try Self.run(cl, s.gradient, dy, f), try Self.run(cpu, s.gradient, dy, f),
                                    tolerance: 1e-6, "parity gradient \(what)")
                    }
                }
            }
        }
    }

    /// Sizes where the OpenCL launch stacks planes, uses several outputs per work-item, or falls back to
    /// the direct kernel.
    func testUpfirdn2dParityTileGeometries() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 15)
        for (name, s) in Self.cases {
            let x = rng.floats(s.inputCount), f = Self.filter(s, &rng)
            assertClose(try Self.run(cl, s, x, f), try Self.run(cpu, s, x, f), tolerance: 1e-6, "parity \(name)")
        }
    }

    /// More planes than one OpenCL launch takes along its third axis (tiled and direct kernels).
    func testUpfirdn2dParityManyPlanes() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 16)
        for s in [Self.shape(planes: 32768 * 4 + 3, 1, 1, up: (2, 2), pad: (2, 1, 2, 1), filter: (4, 4), gain: 4),
                  Self.shape(planes: 32768 + 3, 1, 1, pad: (24, 24, 24, 24), filter: (48, 48))] {
            let x = rng.floats(s.inputCount), f = rng.floats(s.filterCount)
            assertClose(try Self.run(cl, s, x, f), try Self.run(cpu, s, x, f), tolerance: 1e-6, "parity \(s.planes) planes")
        }
    }
}
