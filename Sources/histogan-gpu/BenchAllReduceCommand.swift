import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct BenchAllReduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-allreduce",
        abstract: "Time the data-parallel gradient all-reduce for the standard network sizes (run it under mpirun).",
        discussion: """
        mpirun -np N histogan-gpu bench-allreduce: for the 32, 64, 128 and 256 px networks, builds G and D, and times the \
        step's gradient all-reduce (device → host, MPI_Allreduce in buckets, host → device) and MPI_Allreduce alone \
        on the same bytes. Rank 0 prints bytes per step, median times and the ring bus bandwidth 2(N−1)/N·bytes/s.
        """)

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "Timed repetitions per size (median reported).")
    var repeats = 10

    @Option(name: .customLong("allreduce-bucket-mb"), help: "MiB of gradients per MPI_Allreduce call.")
    var allreduceBucketMB = 64

    @Option(help: "Largest resolution to time (32, 64, 128 or 256).")
    var upTo = 256

    @Option(name: .customLong("mpi-library"), help: "The MPI library to load (default: $HISTOGAN_MPI_LIBRARY, else libmpi.so.40, libmpi.so.12, libmpi.so).")
    var mpiLibrary: String?

    @Option(help: "Also write the results as JSON to this file (rank 0).")
    var json: String?

    func validate() throws {
        guard repeats > 0, allreduceBucketMB > 0 else { throw ValidationError("--repeats and --allreduce-bucket-mb must be > 0") }
    }

    func run() throws {
        let communicator = try Distributed.communicator(library: mpiLibrary)
        do {
            try bench(communicator)
            try communicator.finalize()
        } catch {
            guard communicator.size > 1 else { throw error }
            communicator.abort("Error: rank \(communicator.rank) of \(communicator.size) failed: \(error)", code: 1)
        }
    }

    func bench(_ communicator: any Communicator) throws {
        let root = communicator.isRoot
        let backend = try deviceOption.makeBackend(gpuOrdinal: communicator.localRank)
        if root {
            print("device: \(backend.info.selector) — \(backend.info.name); \(communicator.summary)")
            print("network                                  parameters   MB/step   all-reduce ms   MPI only ms   bus GB/s")
        }
        let bench = AllReduceBenchmark(backend: backend, communicator: communicator, bucketBytes: allreduceBucketMB << 20, repeats: repeats)
        var results: [AllReduceResult] = []
        for config in AllReduceBenchmark.standardConfigs where config.resolution <= upTo {
            let r = try bench.run(config)
            results.append(r)
            if root {
                print(String(format: "%@ %12d %9.1f %15.1f %13.1f %10.2f", r.network.padding(toLength: 40, withPad: " ", startingAt: 0),
                             r.parameters, Double(r.bytes) / 1e6, r.seconds * 1e3, r.mpiSeconds * 1e3, r.busGigabytesPerSecond))
                fflush(nil)
            }
        }
        if root, let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do { try encoder.encode(results).write(to: URL(fileURLWithPath: json), options: .atomic) } catch {
                throw ValidationError("--json \(json): cannot write: \(error.localizedDescription)")
            }
            print("wrote \(json)")
        }
    }
}
