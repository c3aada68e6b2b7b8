import Engine
import Foundation

/// Times the RGB-uv histogram forward + backward (HistoGAN's histogram loss path) for a batch of
/// 256×256 images at 64 bins, with `sampling` (what training uses) and `interpolation`, and the same
/// computation in NumPy for the CPU comparison.
public struct HistogramBenchmark: Sendable {
    public let backend: any Backend
    public let batch: Int
    public let size: Int
    public let bins: Int
    /// Minimum measured time per case, seconds.
    public let minimumSeconds: Double

    /// The case by default: batch 4 of 256×256 images at 64 bins.
    public init(backend: any Backend, batch: Int = 4, size: Int = 256, bins: Int = 64, minimumSeconds: Double = 0.5) {
        self.backend = backend
        self.batch = batch; self.size = size; self.bins = bins
        self.minimumSeconds = minimumSeconds
    }

    /// The options of each benchmarked case (inverse-quadratic, σ 0.02, max size 150).
    public var cases: [HistogramOptions] {
        [HistogramOptions(bins: bins, resize: .sampling), HistogramOptions(bins: bins, resize: .interpolation)]
    }

    /// Our forward+backward for each case, then forward alone, calling `progress` with each result.
    public func run(progress: (BenchmarkResult) -> Void = { _ in }) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        let images = try Tensor(Self.uniform(batch * 3 * size * size, seed: 21), shape: [batch, 3, size, size], on: backend)
        let gradOutput = try Tensor(Self.uniform(batch * 3 * bins * bins, seed: 22).map { 2 * $0 - 1 },
                                    shape: [batch, 3, bins, bins], on: backend)
        let timer = KernelBenchmark(backend: backend, minimumSeconds: minimumSeconds)
        for options in cases {
            let (ms, iterations) = try timer.time {
                let h = try Tensor.rgbuvHistogram(images, options: options)
                _ = try rgbuvHistogramGradient(images, gradOutput: gradOutput, histogram: h, options: options)
            }
            let r = result("rgbuv histogram fwd+bwd \(options.resize.rawValue)", options, ms, iterations, passes: 3)
            results.append(r)
            progress(r)
        }
        for options in cases {
            let (ms, iterations) = try timer.time { _ = try Tensor.rgbuvHistogram(images, options: options) }
            let r = result("rgbuv histogram fwd \(options.resize.rawValue)", options, ms, iterations, passes: 1)
            results.append(r)
            progress(r)
        }
        return results
    }

    /// NumPy's forward+backward of the same cases on this machine (`NumPyHistogram`), or an empty list
    /// when python3/NumPy is unavailable.
    public func numPy(progress: (BenchmarkResult) -> Void = { _ in }) -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        for options in cases {
            guard let (ms, iterations) = NumPyHistogram.milliseconds(batch: batch, size: size, options: options,
                                                                     minimumSeconds: minimumSeconds) else { return results }
            let r = result("numpy rgbuv histogram fwd+bwd \(options.resize.rawValue)", options, ms, iterations, passes: 3)
            results.append(r)
            progress(r)
        }
        return results
    }

    /// A result with the GEMM-shaped arithmetic counted: forward `2·P·bins²` per (image, channel),
    /// backward twice that (`passes` = 1 forward only, 3 forward + backward).
    func result(_ kernel: String, _ options: HistogramOptions, _ ms: Double, _ iterations: Int, passes: Int) -> BenchmarkResult {
        let shape = HistogramShape(batch: batch, height: size, width: size, options: options)
        let flops = Double(passes) * 2 * Double(shape.pixels) * Double(bins * bins) * Double(3 * batch)
        return BenchmarkResult(kernel: kernel, shape: "\(batch)x3x\(size)x\(size) b\(bins)", milliseconds: ms,
                               gflops: flops / ms / 1e6, iterations: iterations)
    }

    /// `count` values uniform in [0, 1) from SplitMix64 (host-side, so inputs need no random primitive).
    public static func uniform(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
        }
    }
}
