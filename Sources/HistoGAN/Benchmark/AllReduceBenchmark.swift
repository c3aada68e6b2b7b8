import Engine
import Foundation

/// One network size timed by `AllReduceBenchmark`.
public struct AllReduceResult: Codable, Sendable {
    /// e.g. `256px capacity 1 latent 512 bins 64`.
    public var network: String
    /// Parameters of G and D together (the floats one step all-reduces).
    public var parameters: Int
    /// Bytes one rank sends per step: 4 · (parameters + one flag per tensor) plus the per-micro-batch reports.
    public var bytes: Int
    public var ranks: Int
    /// Median seconds of the whole gradient all-reduce (device → host, MPI_Allreduce buckets, host → device).
    public var seconds: Double
    /// Median seconds of MPI_Allreduce alone on a host buffer of the same size (same buckets).
    public var mpiSeconds: Double
    /// Ring-all-reduce bus bandwidth of `mpiSeconds`, 2·(N − 1)/N · bytes / s, in GB/s (0 with one rank).
    public var busGigabytesPerSecond: Double
    public var repeats: Int
}

/// Times the data-parallel step's gradient all-reduce for real network sizes: builds G and D of each config on
/// `backend`, gives every parameter a gradient, and times `GradientAllReduce.run` and the bare MPI_Allreduce of the
/// same bytes, `repeats` times each after a barrier (median). Every rank of the job must run it with the same inputs.
public struct AllReduceBenchmark {
    public let backend: any Backend
    public let communicator: any Communicator
    public let bucketBytes: Int
    public let repeats: Int

    public init(backend: any Backend, communicator: any Communicator, bucketBytes: Int = 64 << 20, repeats: Int = 10) {
        self.backend = backend
        self.communicator = communicator
        self.bucketBytes = bucketBytes
        self.repeats = max(1, repeats)
    }

    /// The sizes of DESIGN.md and the README: demo (32 px), default (64 px), 128 px, and the paper's 256 px network.
    public static let standardConfigs: [NetworkConfig] = [
        NetworkConfig(resolution: 32, capacity: 0.125, latentDim: 128, mappingLayers: 4, histogramBins: 32),
        NetworkConfig(resolution: 64, capacity: 0.25, latentDim: 512, mappingLayers: 8, histogramBins: 64),
        NetworkConfig(resolution: 128, capacity: 0.5, latentDim: 512, mappingLayers: 8, histogramBins: 64),
        NetworkConfig(resolution: 256, capacity: 1, latentDim: 512, mappingLayers: 8, histogramBins: 64),
    ]

    /// Times `config` (micro-batches per rank: 1, as `mpirun -np N train` runs by default).
    public func run(_ config: NetworkConfig) throws -> AllReduceResult {
        let generator = try Generator(config: config, backend: backend, seed: 1)
        var rng = ParameterInitializer(backend: backend, seed: 2)
        let discriminator = try Discriminator(config: config, init: &rng)
        let parameters = generator.parameters.parameters + discriminator.parameters.parameters
        for p in parameters { p.grad = try Tensor.full(p.shape, value: 1e-3, on: backend) }
        // The step's extra values: 5 reports and a w mean per micro-batch, in one slot per rank.
        let extra = [Float](repeating: 0, count: communicator.size * (5 + config.latentDim))
        let allReduce = GradientAllReduce(bucketBytes: bucketBytes)
        let count = GradientAllReduce.elementCount(parameters, extraCount: extra.count)

        func median(_ body: () throws -> Void) throws -> Double {
            try body()   // warm-up
            var times: [Double] = []
            for _ in 0..<repeats {
                try communicator.barrier()
                let start = Date()
                try body()
                times.append(Date().timeIntervalSince(start))
            }
            return times.sorted()[times.count / 2]
        }
        let full = try median {
            _ = try allReduce.run(parameters, extra: extra, communicator: communicator)
            try backend.synchronize()
        }
        let host = [Float](repeating: 1e-3, count: count)
        var out = [Float](repeating: 0, count: count)
        let bucket = allReduce.bucketElements
        let mpi = try median {
            try host.withUnsafeBufferPointer { s in
                try out.withUnsafeMutableBufferPointer { r in
                    var start = 0
                    while start < count {
                        let end = min(count, start + bucket)
                        try communicator.allReduceSum(UnsafeBufferPointer(rebasing: s[start ..< end]),
                                                      into: UnsafeMutableBufferPointer(rebasing: r[start ..< end]))
                        start = end
                    }
                }
            }
        }
        let n = Double(communicator.size), bytes = count * MemoryLayout<Float>.size
        let name = "\(config.resolution)px capacity \(config.capacity) latent \(config.latentDim) bins \(config.histogramBins)"
        return AllReduceResult(network: name, parameters: parameters.reduce(0) { $0 + $1.value.count }, bytes: bytes,
                               ranks: communicator.size, seconds: full, mpiSeconds: mpi,
                               busGigabytesPerSecond: n > 1 ? 2 * (n - 1) / n * Double(bytes) / mpi / 1e9 : 0, repeats: repeats)
    }
}
