import Engine
import Foundation
import HistoGAN
import XCTest

/// HistoGAN/Benchmark: the NumPy reference agrees with the Engine on the same inputs (so the CPU
/// comparison times the same computation), and the benchmark runs on small shapes.
final class HistogramBenchmarkTests: XCTestCase {
    func testNumPyImplementationAgreesWithEngine() throws {
        let backend = CPUBackend()
        for options in [HistogramOptions(bins: 12, sigma: 0.1, resize: .sampling, maxSize: 16),
                        HistogramOptions(bins: 10, sigma: 0.05, resize: .interpolation, maxSize: 16),
                        HistogramOptions(bins: 9, sigma: 0.2, maxSize: 40)] {
            let x = try Tensor(HistogramBenchmark.uniform(2 * 3 * 23 * 19, seed: 5).map { 1.1 * $0 - 0.05 }, shape: [2, 3, 23, 19], on: backend)
            let g = try Tensor(HistogramBenchmark.uniform(2 * 3 * options.bins * options.bins, seed: 6).map { 2 * $0 - 1 },
                               shape: [2, 3, options.bins, options.bins], on: backend)
            guard let (h, dx) = try NumPyHistogram.evaluate(images: NumPyArray(x), gradOutput: NumPyArray(g), options: options) else {
                throw XCTSkip("python3 with NumPy is not available")
            }
            let ours = try Tensor.rgbuvHistogram(x, options: options)
            let grad = try rgbuvHistogramGradient(x, gradOutput: g, histogram: ours, options: options)
            XCTAssertEqual(h.shape, ours.shape)
            XCTAssertLessThan(relativeError(try ours.array(), h.values), 1e-5, "\(options) histogram")
            XCTAssertLessThan(relativeError(try grad.array(), dx.values), 1e-4, "\(options) gradient")
        }
    }

    func testBenchmarkRunsOnSmallShapes() throws {
        let bench = HistogramBenchmark(backend: CPUBackend(), batch: 1, size: 24, bins: 8, minimumSeconds: 0)
        let results = try bench.run()
        XCTAssertEqual(results.map(\.kernel), ["rgbuv histogram fwd+bwd sampling", "rgbuv histogram fwd+bwd interpolation",
                                               "rgbuv histogram fwd sampling", "rgbuv histogram fwd interpolation"])
        XCTAssertTrue(results.allSatisfy { $0.milliseconds > 0 && $0.iterations >= 1 })
    }

    func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for i in a.indices { num += Double(a[i] - b[i]) * Double(a[i] - b[i]); den += Double(b[i]) * Double(b[i]) }
        return (num / max(den, 1e-30)).squareRoot()
    }
}
