import Engine
import TestSupport
import Foundation
import XCTest

/// histogram.cl / CPUBackend+Histogram: hand-worked values, the naive Double reference of the whole
/// definition (both resize modes, every kernel), finite-difference gradients, OpenCL-vs-CPU parity.
final class HistogramTests: XCTestCase {
    /// Runs the forward primitive on `backend` and returns `[N, 3, bins, bins]`.
    func histogram(_ backend: any Backend, _ images: [Float], batch: Int, height: Int, width: Int,
                   _ options: HistogramOptions) throws -> [Float] {
        let s = HistogramShape(batch: batch, height: height, width: width, options: options)
        let out = try backend.poisoned(s.outputCount)
        try backend.rgbuvHistogram(s, image: try backend.buffer(images), output: out)
        return try backend.array(out)
    }

    /// Runs the backward primitive on `backend` and returns the image gradient.
    func gradient(_ backend: any Backend, _ images: [Float], gradOutput: [Float], batch: Int, height: Int, width: Int,
                  _ options: HistogramOptions) throws -> [Float] {
        let s = HistogramShape(batch: batch, height: height, width: width, options: options)
        let image = try backend.buffer(images), hist = try backend.poisoned(s.outputCount)
        try backend.rgbuvHistogram(s, image: image, output: hist)
        let grad = try backend.poisoned(s.imageCount)
        try backend.rgbuvHistogramBackward(s, image: image, histogram: hist, gradOutput: try backend.buffer(gradOutput), gradImage: grad)
        return try backend.array(grad)
    }

    /// A uniform image of one colour, [1, 3, h, w].
    func solid(_ r: Float, _ g: Float, _ b: Float, height: Int = 3, width: Int = 2) -> [Float] {
        [r, g, b].flatMap { [Float](repeating: $0, count: height * width) }
    }

    // MARK: - Hand-worked values

    /// R = 0.9, G = R/e, B = R/e²: (u, v) ≈ R (1, 2), G (−1, 1), B (−2, −1). With 7 bins the centres are
    /// the integers −3...3 and the threshold kernel (half-width 3/7) puts each channel's whole weight
    /// in one bin: H[R, 4, 5] = H[G, 2, 4] = H[B, 1, 2] = 1/3 (up to the eps of the normalisation).
    func testSingleColourThresholdLandsInPredictedBins() throws {
        let r: Float = 0.9, g = Float(0.9 / M_E), b = Float(0.9 / (M_E * M_E))
        let options = HistogramOptions(bins: 7, kernel: .threshold)
        for backend in TestBackends.all {
            let h = try histogram(backend, solid(r, g, b), batch: 1, height: 3, width: 2, options)
            var want = [Double](repeating: 0, count: 3 * 49)
            let iy = (Double(r * r + g * g + b * b) + 1e-6).squareRoot(), mass = 6 * iy
            for (c, i, j) in [(0, 4, 5), (1, 2, 4), (2, 1, 2)] { want[(c * 7 + i) * 7 + j] = mass / (3 * mass + 1e-6) }
            assertClose(h, want, tolerance: 1e-6, "\(backend.label) single colour, threshold")
        }
    }

    /// The same colour with the inverse-quadratic kernel: every bin gets Iy·k(u − t_i)·k(v − t_j) with
    /// k(d) = 1/(1 + d²/σ²), computed here pixel-free in Double from the colour's exact (u, v).
    func testSingleColourInverseQuadraticWeights() throws {
        let r: Float = 0.9, g: Float = 0.35, b: Float = 0.12, sigma = 0.3
        let options = HistogramOptions(bins: 7, sigma: Float(sigma))
        let l = [r, g, b].map { log(Double($0) + 1e-6) }
        let uv = [(l[0] - l[1], l[0] - l[2]), (l[1] - l[0], l[1] - l[2]), (l[2] - l[0], l[2] - l[1])]
        func k(_ d: Double) -> Double { 1 / (1 + d * d / (sigma * sigma)) }
        var want = [Double](repeating: 0, count: 3 * 49)
        for c in 0..<3 { for i in 0..<7 { for j in 0..<7 { want[(c * 7 + i) * 7 + j] = k(uv[c].0 - Double(i - 3)) * k(uv[c].1 - Double(j - 3)) } } }
        let total = want.reduce(0, +)
        want = want.map { $0 / total }
        for backend in TestBackends.all {
            let h = try histogram(backend, solid(r, g, b, height: 4, width: 5), batch: 1, height: 4, width: 5, options)
            assertClose(h, want, tolerance: 1e-5, "\(backend.label) single colour, inverse-quadratic")
        }
    }

    /// A grey pixel has u = v = 0. Odd bins: the centre bin (3, 3) of 7 holds the maximum, k(0)² = 1
    /// relative to k(1)·k(0) for its neighbours. Even bins: 0 lies between centres ±3/7 of 8 bins, so
    /// the four central bins share the maximum equally and the histogram is symmetric.
    func testGreyPixelLandsAtTheCentre() throws {
        let sigma = 0.5
        for backend in TestBackends.all {
            let odd = try histogram(backend, solid(0.4, 0.4, 0.4), batch: 1, height: 3, width: 2,
                                    HistogramOptions(bins: 7, sigma: Float(sigma)))
            let k1 = 1 / (1 + 1 / (sigma * sigma))
            for c in 0..<3 {
                let centre = Double(odd[(c * 7 + 3) * 7 + 3]), side = Double(odd[(c * 7 + 3) * 7 + 4])
                XCTAssertEqual(odd.enumerated().filter { $0.offset / 49 == c }.map(\.element).max(), odd[(c * 7 + 3) * 7 + 3])
                XCTAssertEqual(side / centre, k1, accuracy: 1e-5, "\(backend.label) grey, 7 bins, channel \(c)")
            }
            let even = try histogram(backend, solid(0.7, 0.7, 0.7), batch: 1, height: 2, width: 2,
                                     HistogramOptions(bins: 8, sigma: Float(sigma)))
            for c in 0..<3 {
                let plane = Array(even[(c * 64)..<((c + 1) * 64)])
                let centre = plane[3 * 8 + 3]
                for (i, j) in [(3, 4), (4, 3), (4, 4)] { XCTAssertEqual(plane[i * 8 + j], centre, accuracy: 1e-6 * centre) }
                for i in 0..<8 { for j in 0..<8 {
                    XCTAssertEqual(plane[i * 8 + j], plane[(7 - i) * 8 + (7 - j)], accuracy: 1e-6 * centre, "\(backend.label) symmetry")
                    XCTAssertLessThanOrEqual(plane[i * 8 + j], centre * (1 + 1e-6))
                } }
                // H[c, 3, 3] = k(3/7)² / (3 · (Σ_i k(t_i))²): Iy and the pixel count cancel.
                let d = 3.0 / 7, kd = 1 / (1 + d * d / (sigma * sigma)), s = sumOfKernel(8, sigma, 0)
                XCTAssertEqual(Double(centre), kd * kd / (3 * s * s), accuracy: 1e-6, "\(backend.label) grey, 8 bins, predicted weight")
            }
        }
    }

    /// Σ_i k(u − t_i) over `linspace(−3, 3, bins)`, inverse-quadratic.
    func sumOfKernel(_ bins: Int, _ sigma: Double, _ u: Double) -> Double {
        HistogramReference.linspace(-3, 3, bins).reduce(0) { $0 + 1 / (1 + ($1 - u) * ($1 - u) / (sigma * sigma)) }
    }

    // MARK: - Double reference

    /// Every kernel and resize mode, images below and above maxSize, on every backend.
    func testMatchesDoubleReferenceForEveryOption() throws {
        var rng = TestRNG(seed: 41)
        let (batch, h, w) = (2, 13, 11)
        let images = rng.floats(batch * 3 * h * w, -0.1, 1.1)
        var cases: [HistogramOptions] = []
        for kernel in HistogramKernel.allCases {
            for resize in HistogramResize.allCases {
                for maxSize in [150, 8] {
                    cases.append(HistogramOptions(bins: 7, kernel: kernel, sigma: kernel == .gaussian ? 0.1 : 0.02,
                                                  resize: resize, maxSize: maxSize))
                }
            }
        }
        cases.append(HistogramOptions(bins: 64))
        cases.append(HistogramOptions(bins: 20, resize: .sampling, maxSize: 12))
        cases.append(HistogramOptions(bins: 70, kernel: .gaussian, maxSize: 10))
        for options in cases {
            let want = HistogramReference.histogram(images.map(Double.init), batch: batch, height: h, width: w, options: options)
            for backend in TestBackends.all {
                let got = try histogram(backend, images, batch: batch, height: h, width: w, options)
                // float32 logs carry ~1e-6 absolute error in (u, v); a Gaussian of σ 0.02 amplifies it most.
                let tolerance = options.kernel == .gaussian && options.sigma < 0.05 ? 1e-4 : 1e-5
                assertClose(got, want, tolerance: tolerance, "\(backend.label) \(options)")
            }
        }
    }

    /// The fused kernel against `rgbuvHistogramReference`, the same definition composed of generic
    /// primitives (GEMM, reduce, layout); skipped while those primitives are not built.
    func testFusedMatchesPrimitiveReference() throws {
        var rng = TestRNG(seed: 45)
        let images = rng.floats(2 * 3 * 13 * 11, -0.1, 1.1)
        for backend in TestBackends.all {
            let x = try Tensor(images, shape: [2, 3, 13, 11], on: backend)
            for options in [HistogramOptions(bins: 16, sigma: 0.1), HistogramOptions(bins: 9, kernel: .gaussian, sigma: 0.2, maxSize: 8),
                            HistogramOptions(bins: 7, kernel: .threshold, resize: .sampling, maxSize: 8)] {
                let reference = try Tensor.rgbuvHistogramReference(x, options: options)
                assertClose(try Tensor.rgbuvHistogram(x, options: options).array(), try reference.array(), tolerance: 1e-5,
                            "\(backend.label) fused vs primitives \(options)")
            }
        }
    }

    // MARK: - Gradients

    /// The backward primitive against central differences of the Double reference, for each kernel and
    /// resize mode, including values outside [0, 1] (zero gradient) on every backend.
    func testBackwardMatchesFiniteDifferences() throws {
        var rng = TestRNG(seed: 42)
        let cases: [(HistogramOptions, Int, Int)] = [
            (HistogramOptions(bins: 7, sigma: 0.3), 4, 5),
            (HistogramOptions(bins: 6, kernel: .gaussian, sigma: 0.4, maxSize: 6), 9, 7),
            (HistogramOptions(bins: 5, kernel: .threshold, resize: .sampling, maxSize: 6), 9, 8),
            (HistogramOptions(bins: 8, sigma: 0.25, resize: .sampling, maxSize: 4), 5, 3),
        ]
        for (options, h, w) in cases {
            let batch = 2
            var images = rng.floats(batch * 3 * h * w, 0.05, 0.95)
            images[1] = -0.3; images[7] = 1.4
            let weights = rng.floats(batch * 3 * options.bins * options.bins, -1, 1)
            let want = HistogramReference.gradient(images.map(Double.init), weights: weights.map(Double.init), batch: batch,
                                                   height: h, width: w, options: options)
            XCTAssertEqual(want[1], 0); XCTAssertEqual(want[7], 0)
            for backend in TestBackends.all {
                let got = try gradient(backend, images, gradOutput: weights, batch: batch, height: h, width: w, options)
                assertClose(got, want, tolerance: 2e-5, "\(backend.label) gradient \(options) \(h)x\(w)")
                XCTAssertEqual(got[1], 0); XCTAssertEqual(got[7], 0)
            }
        }
    }

    // MARK: - Parity

    /// OpenCL vs CPU, forward and backward, on awkward shapes: batch 1 and 3, 13x11, bins 7, 20, 64 and
    /// 70 (two tiles), images below and above maxSize, and a sampling size where NumPy's Double
    /// `linspace` differs from exact integer division (122 rows, 14 bins).
    func testParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 43)
        let cases: [(Int, Int, Int, HistogramOptions)] = [
            (1, 13, 11, HistogramOptions(bins: 7)),
            (3, 13, 11, HistogramOptions(bins: 64)),
            (3, 13, 11, HistogramOptions(bins: 64, kernel: .gaussian, sigma: 0.05, maxSize: 8)),
            (1, 13, 11, HistogramOptions(bins: 70, kernel: .gaussian, sigma: 0.1)),
            (3, 13, 11, HistogramOptions(bins: 20, resize: .sampling, maxSize: 12)),
            (2, 122, 30, HistogramOptions(bins: 14, kernel: .threshold, resize: .sampling, maxSize: 100)),
            (1, 40, 61, HistogramOptions(bins: 64, maxSize: 30)),
        ]
        for (batch, h, w, options) in cases {
            let images = rng.floats(batch * 3 * h * w, -0.05, 1.05)
            let weights = rng.floats(batch * 3 * options.bins * options.bins, -1, 1)
            let label = "\(batch)x\(h)x\(w) \(options)"
            let forward = try [cpu, cl].map { try histogram($0, images, batch: batch, height: h, width: w, options) }
            assertClose(forward[1], forward[0], tolerance: 5e-6, "parity forward \(label)")
            let backward = try [cpu, cl].map { try gradient($0, images, gradOutput: weights, batch: batch, height: h, width: w, options) }
            assertClose(backward[1], backward[0], tolerance: 1e-5, "parity backward \(label)")
        }
    }

    // MARK: - Tensor API

    func testTensorAPIShapesAndErrors() throws {
        var rng = TestRNG(seed: 44)
        for backend in TestBackends.all {
            let x = try Tensor(rng.floats(2 * 3 * 6 * 5, 0, 1), shape: [2, 3, 6, 5], on: backend)
            let options = HistogramOptions(bins: 9)
            let h = try Tensor.rgbuvHistogram(x, options: options)
            XCTAssertEqual(h.shape, [2, 3, 9, 9])
            let sums = try h.array().chunked(243).map { $0.reduce(0, +) }
            for s in sums { XCTAssertEqual(s, 1, accuracy: 1e-5) }
            let g = try rgbuvHistogramGradient(x, gradOutput: try Tensor.full([2, 3, 9, 9], value: 1, on: backend), options: options)
            XCTAssertEqual(g.shape, x.shape)
            // Σ H is constant (≈ 1), so a constant upstream gradient gives ≈ 0.
            XCTAssertLessThan(try g.array().map { abs($0) }.max()!, 1e-3)
            XCTAssertThrowsError(try Tensor.rgbuvHistogram(try Tensor.zeros([2, 4, 6, 5], on: backend)))
            XCTAssertThrowsError(try Tensor.rgbuvHistogram(x, options: HistogramOptions(bins: 0)))
            XCTAssertThrowsError(try rgbuvHistogramGradient(x, gradOutput: try Tensor.zeros([2, 3, 8, 8], on: backend), options: options))
        }
    }
}

extension Array {
    /// Consecutive slices of `size` elements.
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min(count, $0 + size)]) }
    }
}
