import Engine
import TestSupport
import Foundation
import XCTest

/// conv2d.cl / CPUBackend+Conv2d: naive Double references, the adjoint identity and OpenCL-vs-CPU parity.
final class Conv2dTests: XCTestCase {
    /// Awkward shapes: batch 1 and 3, odd spatial sizes, channels that are no multiple of a tile,
    /// groups 1/2/3, stride 1/2, pad 0/1, 1×1, 3×3 and non-square kernels; weight gains other than 1 on the CPU's
    /// transposed grad-input, its 1x1 GEMM path and the split grad-weight.
    static let cases: [Conv2dShape] = [
        Conv2dShape(batch: 1, inChannels: 3, outChannels: 5, height: 7, width: 9, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                    weightGain: 0.37),
        Conv2dShape(batch: 3, inChannels: 6, outChannels: 6, height: 13, width: 11, kernelH: 3, kernelW: 3, stride: 2,
                    padH: 1, padW: 1, groups: 3, weightGain: 1.7),
        Conv2dShape(batch: 3, inChannels: 6, outChannels: 4, height: 7, width: 9, kernelH: 1, kernelW: 1, stride: 2, groups: 2),
        Conv2dShape(batch: 1, inChannels: 5, outChannels: 3, height: 13, width: 11, kernelH: 3, kernelW: 3, stride: 2),
        Conv2dShape(batch: 3, inChannels: 5, outChannels: 6, height: 7, width: 9, kernelH: 1, kernelW: 1, weightGain: 0.25),
        Conv2dShape(batch: 1, inChannels: 6, outChannels: 9, height: 9, width: 7, kernelH: 3, kernelW: 3, groups: 3),
        // The last row and column of x reach no output (floor in the output size): dx must be 0 there.
        Conv2dShape(batch: 1, inChannels: 3, outChannels: 2, height: 8, width: 10, kernelH: 3, kernelW: 3, stride: 2),
        Conv2dShape(batch: 3, inChannels: 2, outChannels: 4, height: 7, width: 9, kernelH: 1, kernelW: 3, padH: 0, padW: 1),
        // Long reduction for grad-weight (split over K on OpenCL).
        Conv2dShape(batch: 3, inChannels: 4, outChannels: 5, height: 16, width: 13, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                    weightGain: 0.37),
    ]

    /// Shapes whose per-group matrices select the large, medium and tall OpenCL tiles.
    static let largeCases: [Conv2dShape] = [
        Conv2dShape(batch: 2, inChannels: 8, outChannels: 130, height: 12, width: 16, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
        Conv2dShape(batch: 2, inChannels: 40, outChannels: 36, height: 9, width: 11, kernelH: 3, kernelW: 3, stride: 2,
                    padH: 1, padW: 1, groups: 2),
        Conv2dShape(batch: 1, inChannels: 130, outChannels: 131, height: 12, width: 11, kernelH: 1, kernelW: 1),
        Conv2dShape(batch: 1, inChannels: 24, outChannels: 40, height: 4, width: 5, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
        Conv2dShape(batch: 2, inChannels: 3, outChannels: 20, height: 6, width: 7, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
        // A long reduction (K = 2700) over 29×29 pixels: the CPU cuts the pixels into blocks that end
        // mid-row, for the forward, the transposed (grad-input) and the grad-weight convolutions.
        Conv2dShape(batch: 1, inChannels: 300, outChannels: 3, height: 29, width: 29, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ]

    struct Data {
        let x: [Float], w: [Float], dy: [Float]
        init(_ s: Conv2dShape, seed: UInt64) {
            var rng = TestRNG(seed: seed)
            x = rng.floats(s.inputCount); w = rng.floats(s.weightCount); dy = rng.floats(s.outputCount)
        }
    }

    /// y, dx, dw of one backend, each output NaN-poisoned first.
    static func run(_ backend: any Backend, _ s: Conv2dShape, _ d: Data) throws -> (y: [Float], dx: [Float], dw: [Float]) {
        let x = try backend.buffer(d.x), w = try backend.buffer(d.w), dy = try backend.buffer(d.dy)
        let y = try backend.poisoned(s.outputCount), dx = try backend.poisoned(s.inputCount), dw = try backend.poisoned(s.weightCount)
        try backend.conv2d(s, input: x, weight: w, output: y)
        try backend.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: dx)
        try backend.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: dw)
        return (try backend.array(y), try backend.array(dx), try backend.array(dw))
    }

    func testConv2dMatchesReference() throws {
        for (index, s) in (Self.cases + Self.largeCases).enumerated() {
            let d = Data(s, seed: UInt64(10 + index))
            let y = ConvReference.forward(s, x: d.x, w: d.w)
            let dx = ConvReference.gradInput(s, dy: d.dy, w: d.w)
            let dw = ConvReference.gradWeight(s, x: d.x, dy: d.dy)
            for backend in TestBackends.all {
                let got = try Self.run(backend, s, d)
                assertClose(got.y, y, tolerance: 1e-5, "\(backend.label) conv2d \(s)")
                assertClose(got.dx, dx, tolerance: 1e-5, "\(backend.label) conv2dGradInput \(s)")
                assertClose(got.dw, dw, tolerance: 1e-5, "\(backend.label) conv2dGradWeight \(s)")
            }
        }
    }

    /// `<conv(x, w), dy> = <x, gradInput(dy, w)> = <w, gradWeight(x, dy)>`, summed in Double.
    func testConv2dAdjointIdentity() throws {
        for (index, s) in Self.cases.enumerated() {
            let d = Data(s, seed: UInt64(40 + index))
            for backend in TestBackends.all {
                let got = try Self.run(backend, s, d)
                let forward = Self.dot(got.y, d.dy), input = Self.dot(d.x, got.dx), weight = Self.dot(d.w, got.dw)
                let scale = forward.magnitude + input.magnitude + weight.magnitude
                XCTAssertEqual(forward.value, input.value, accuracy: 1e-5 * scale, "\(backend.label) <y,dy> vs <x,dx> \(s)")
                XCTAssertEqual(forward.value, weight.value, accuracy: 1e-5 * scale, "\(backend.label) <y,dy> vs <w,dw> \(s)")
            }
        }
    }

    /// Pixels of x that no output reads get dx = 0 (and are written, not left poisoned).
    func testConv2dGradInputZeroWhereNothingContributes() throws {
        let s = Conv2dShape(batch: 1, inChannels: 2, outChannels: 3, height: 6, width: 5, kernelH: 1, kernelW: 1, stride: 2)
        let d = Data(s, seed: 70)
        for backend in TestBackends.all {
            let dx = try Self.run(backend, s, d).dx
            for c in 0..<2 {
                for iy in 0..<6 {
                    for ix in 0..<5 where iy % 2 == 1 || ix % 2 == 1 {
                        XCTAssertEqual(dx[(c * 6 + iy) * 5 + ix], 0, "\(backend.label) dx[\(c),\(iy),\(ix)]")
                    }
                }
            }
        }
    }

    /// OpenCL's grad-input runs every stride phase in one launch: a stride-2 layer with odd sizes (phases of unequal
    /// widths, so tiles past a narrow phase's columns must write nothing) is one launch, with split K two (the
    /// kernel and `conv2d_sum_splits`), and both match the float64 reference with every pixel written.
    func testGradInputRunsEveryStridePhaseInOneLaunch() throws {
        let cl = try XCTUnwrap(TestBackends.requireOpenCL() as? OpenCLBackend)
        let s = Conv2dShape(batch: 2, inChannels: 6, outChannels: 20, height: 9, width: 7, kernelH: 3, kernelW: 3, stride: 2,
                            padH: 1, padW: 1)
        let d = Data(s, seed: 95)
        let dy = try cl.buffer(d.dy), w = try cl.buffer(d.w)
        let want = ConvReference.gradInput(s, dy: d.dy, w: d.w)
        for (splits, launches) in [(1, 1), (3, 2)] {
            let dx = try cl.poisoned(s.inputCount)
            let before = try XCTUnwrap(cl.kernelLaunches)
            try cl.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: dx, choice: KernelChoice(conv: .small, splits: splits))
            XCTAssertEqual(cl.kernelLaunches, before + launches, "splits \(splits)")
            assertClose(try cl.array(dx), want, tolerance: 1e-5, "grad-input, splits \(splits)")
        }
    }

    func testConv2dParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        for (index, s) in (Self.cases + Self.largeCases).enumerated() {
            let d = Data(s, seed: UInt64(80 + index))
            let want = try Self.run(TestBackends.cpu, s, d), got = try Self.run(cl, s, d)
            assertClose(got.y, want.y, tolerance: 1e-5, "parity conv2d \(s)")
            assertClose(got.dx, want.dx, tolerance: 1e-5, "parity conv2dGradInput \(s)")
            assertClose(got.dw, want.dw, tolerance: 1e-5, "parity conv2dGradWeight \(s)")
        }
    }

    /// StyleGAN2 fused-modconv layout: x viewed as `[1, N·I, H, W]`, weight `[N·O, I, 3, 3]`, groups = N.
    func testConv2dParityGroupsEqualBatch() throws {
        let cl = try TestBackends.requireOpenCL()
        let s = Conv2dShape(batch: 1, inChannels: 4 * 24, outChannels: 4 * 20, height: 10, width: 9,
                            kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 4)
        let d = Data(s, seed: 90)
        let want = try Self.run(TestBackends.cpu, s, d), got = try Self.run(cl, s, d)
        assertClose(got.y, want.y, tolerance: 1e-5, "parity grouped conv2d")
        assertClose(got.dx, want.dx, tolerance: 1e-5, "parity grouped conv2dGradInput")
        assertClose(got.dw, want.dw, tolerance: 1e-5, "parity grouped conv2dGradWeight")
    }

    func testConv2dRejectsInvalidShapes() throws {
        for backend in TestBackends.all {
            let bad = Conv2dShape(batch: 1, inChannels: 5, outChannels: 4, height: 5, width: 5, kernelH: 3, kernelW: 3, groups: 2)
            let b = try backend.allocate(1000)
            XCTAssertThrowsError(try backend.conv2d(bad, input: b, weight: b, output: b), "\(backend.label) groups")
            let empty = Conv2dShape(batch: 1, inChannels: 2, outChannels: 2, height: 2, width: 2, kernelH: 3, kernelW: 3)
            XCTAssertThrowsError(try backend.conv2dGradInput(empty, gradOutput: b, weight: b, gradInput: b), "\(backend.label) empty")
            let s = Conv2dShape(batch: 1, inChannels: 2, outChannels: 2, height: 5, width: 5, kernelH: 3, kernelW: 3)
            let short = try backend.allocate(s.outputCount - 1)
            XCTAssertThrowsError(try backend.conv2dGradWeight(s, input: b, gradOutput: short, gradWeight: b), "\(backend.label) short")
        }
    }

    /// Σ aᵢ·bᵢ and Σ |aᵢ·bᵢ| in Double.
    static func dot(_ a: [Float], _ b: [Float]) -> (value: Double, magnitude: Double) {
        var value = 0.0, magnitude = 0.0
        for i in a.indices {
            let t = Double(a[i]) * Double(b[i])
            value += t; magnitude += abs(t)
        }
        return (value, magnitude)
    }
}

/// Plain-loop Double convolution with the shape's weight gain g (y = conv(x, g·w), dx = convᵀ(dy, g·w),
/// dw = g·corr(x, dy)): the definition every backend is checked against.
enum ConvReference {
    /// Calls `body(xIndex, wIndex, yIndex)` for every tap (n, o, oy, ox, c, ky, kx) that reads inside x.
    static func forEachTap(_ s: Conv2dShape, _ body: (Int, Int, Int) -> Void) {
        let cg = s.inChannels / s.groups, og = s.outChannels / s.groups
        for n in 0..<s.batch {
            for o in 0..<s.outChannels {
                let g = o / og
                for oy in 0..<s.outHeight {
                    for ox in 0..<s.outWidth {
                        let yi = ((n * s.outChannels + o) * s.outHeight + oy) * s.outWidth + ox
                        for c in 0..<cg {
                            for ky in 0..<s.kernelH {
                                let iy = oy * s.stride - s.padH + ky
                                guard iy >= 0, iy < s.height else { continue }
                                for kx in 0..<s.kernelW {
                                    let ix = ox * s.stride - s.padW + kx
                                    guard ix >= 0, ix < s.width else { continue }
                                    let xi = ((n * s.inChannels + g * cg + c) * s.height + iy) * s.width + ix
                                    let wi = ((o * cg + c) * s.kernelH + ky) * s.kernelW + kx
                                    body(xi, wi, yi)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func forward(_ s: Conv2dShape, x: [Float], w: [Float]) -> [Double] {
        var y = [Double](repeating: 0, count: s.outputCount)
        forEachTap(s) { xi, wi, yi in y[yi] += Double(x[xi]) * Double(w[wi]) }
        return y.map { $0 * Double(s.weightGain) }
    }

    static func gradInput(_ s: Conv2dShape, dy: [Float], w: [Float]) -> [Double] {
        var dx = [Double](repeating: 0, count: s.inputCount)
        forEachTap(s) { xi, wi, yi in dx[xi] += Double(dy[yi]) * Double(w[wi]) }
        return dx.map { $0 * Double(s.weightGain) }
    }

    static func gradWeight(_ s: Conv2dShape, x: [Float], dy: [Float]) -> [Double] {
        var dw = [Double](repeating: 0, count: s.weightCount)
        forEachTap(s) { xi, wi, yi in dw[wi] += Double(dy[yi]) * Double(x[xi]) }
        return dw.map { $0 * Double(s.weightGain) }
    }
}
