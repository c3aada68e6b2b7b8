import CMPI
import Foundation

/// A communicator over MPI_COMM_WORLD of an MPI library opened at run time (`CMPI`: dlopen, no mpi.h at build
/// time), so the binary runs where no MPI is installed and MPI is touched only when `mpirun` started the process.
/// Works with Open MPI (`libmpi.so.40`) and libraries of the MPICH ABI (`libmpi.so.12`).
///
/// Collectives must be called from one thread (MPI_THREAD_SINGLE); the training loop does.
public final class MPICommunicator: Communicator {
    private let mpi: OpaquePointer
    public let rank: Int
    public let size: Int
    public let localRank: Int
    /// The library file that was opened.
    public let library: String
    private var finalized = false

    /// Opens the first of `libraries` that loads, initialises MPI and reads rank and size.
    /// `localRank` comes from the launcher's environment (see `Distributed.localRank(environment:)`).
    public init(libraries: [String], localRank: Int? = nil) throws {
        var failures: [String] = []
        var opened: (OpaquePointer, String)?
        for path in libraries {
            var error = [CChar](repeating: 0, count: 512)
            if let handle = hg_mpi_open(path, &error, error.count) {
                opened = (handle, path)
                break
            }
            failures.append(Self.string(error))
        }
        guard let (handle, path) = opened else {
            throw EngineError.distributed("launched by mpirun, but no MPI library could be loaded (\(failures.joined(separator: "; "))); "
                                          + "install Open MPI (libopenmpi3 / openmpi-bin) or name the library with --mpi-library")
        }
        mpi = handle
        library = path
        var r: Int32 = 0, s: Int32 = 0
        let status = hg_mpi_init(handle, &r, &s)
        guard status == 0 else { throw EngineError.distributed("MPI_Init: \(Self.message(handle, status))") }
        rank = Int(r)
        size = Int(s)
        self.localRank = localRank ?? rank
    }

    public var summary: String { "\(String(cString: hg_mpi_flavor(mpi))) (\(library)), \(size) ranks" }

    public func allReduceSum(_ send: UnsafeBufferPointer<Float>, into recv: UnsafeMutableBufferPointer<Float>) throws {
        try checkCounts(send.count, recv.count)
        guard send.count > 0 else { return }
        try check(hg_mpi_allreduce_sum_float(mpi, send.baseAddress, recv.baseAddress, Int32(send.count)), "MPI_Allreduce(float)")
    }

    public func allReduceSum(_ send: UnsafeBufferPointer<Double>, into recv: UnsafeMutableBufferPointer<Double>) throws {
        try checkCounts(send.count, recv.count)
        guard send.count > 0 else { return }
        try check(hg_mpi_allreduce_sum_double(mpi, send.baseAddress, recv.baseAddress, Int32(send.count)), "MPI_Allreduce(double)")
    }

    public func barrier() throws { try check(hg_mpi_barrier(mpi), "MPI_Barrier") }

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        hg_mpi_abort(mpi, code)
        exit(code)
    }

    public func finalize() throws {
        guard !finalized else { return }
        finalized = true
        try check(hg_mpi_finalize(mpi), "MPI_Finalize")
    }

    private func checkCounts(_ send: Int, _ recv: Int) throws {
        guard send == recv else { throw EngineError.distributed("allReduceSum: \(send) values sent, room for \(recv)") }
        guard send <= Int(Int32.max) else {
            throw EngineError.distributed("allReduceSum: \(send) values exceed MPI's int count; use smaller buckets")
        }
    }

    private func check(_ status: Int32, _ call: String) throws {
        guard status == 0 else { throw EngineError.distributed("\(call) on rank \(rank): \(Self.message(mpi, status))") }
    }

    /// The NUL-terminated UTF-8 text in `chars`.
    private static func string(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func message(_ mpi: OpaquePointer, _ status: Int32) -> String {
        var text = [CChar](repeating: 0, count: 600)
        hg_mpi_error_string(mpi, status, &text, text.count)
        return "\(string(text)) (error \(status))"
    }
}
