import Foundation

/// The processes of a data-parallel job and the collectives that training needs (MPI semantics: every rank
/// calls every collective, in the same order, with the same counts).
///
/// Implementations: `SingleProcessCommunicator` (one rank; every collective is the identity) and
/// `MPICommunicator` (an MPI library loaded at run time). `Distributed.communicator()` picks one.
public protocol Communicator: AnyObject {
    /// This process's rank in `0 ..< size`.
    var rank: Int { get }
    /// Number of ranks in the job.
    var size: Int { get }
    /// Rank among the processes on this machine (which GPU `--device auto` takes).
    var localRank: Int { get }
    /// One line for logs, e.g. `single process` or `Open MPI (libmpi.so.40), 4 ranks`.
    var summary: String { get }
    /// `recv[i] = Σ over ranks of send[i]` (MPI_Allreduce, MPI_SUM); `send` and `recv` have the same count and do
    /// not overlap.
    func allReduceSum(_ send: UnsafeBufferPointer<Float>, into recv: UnsafeMutableBufferPointer<Float>) throws
    /// Double-precision `allReduceSum`.
    func allReduceSum(_ send: UnsafeBufferPointer<Double>, into recv: UnsafeMutableBufferPointer<Double>) throws
    /// Returns when every rank has called it.
    func barrier() throws
    /// Writes `message` to standard error and ends every rank of the job with exit status `code`
    /// (MPI_Abort), so a failure on one rank never leaves the others waiting in a collective.
    func abort(_ message: String, code: Int32) -> Never
    /// Ends the job's use of the communicator (MPI_Finalize); call once, at exit, on every rank.
    func finalize() throws
}

extension Communicator {
    /// Rank 0: the one that writes files and prints progress.
    public var isRoot: Bool { rank == 0 }

    /// `Σ over ranks of values`, elementwise.
    public func allReduceSum(_ values: [Float]) throws -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        try values.withUnsafeBufferPointer { send in try out.withUnsafeMutableBufferPointer { try allReduceSum(send, into: $0) } }
        return out
    }

    /// `Σ over ranks of values`, elementwise, in double precision.
    public func allReduceSum(_ values: [Double]) throws -> [Double] {
        var out = [Double](repeating: 0, count: values.count)
        try values.withUnsafeBufferPointer { send in try out.withUnsafeMutableBufferPointer { try allReduceSum(send, into: $0) } }
        return out
    }

    /// Every rank's `values` (the same count on each), indexed by rank. Built on the sum: rank r fills slot r of a
    /// zeroed `[size · count]` buffer, so the result is exact (x + 0 = x).
    public func allGather(_ values: [Float]) throws -> [[Float]] {
        if size == 1 { return [values] }
        var slots = [Float](repeating: 0, count: size * values.count)
        slots.replaceSubrange(rank * values.count ..< (rank + 1) * values.count, with: values)
        let sum = try allReduceSum(slots)
        return (0..<size).map { Array(sum[$0 * values.count ..< ($0 + 1) * values.count]) }
    }

    /// Every rank's 64-bit `value`, indexed by rank (exact: sent as two 32-bit halves in doubles).
    public func allGather(_ value: UInt64) throws -> [UInt64] {
        if size == 1 { return [value] }
        var slots = [Double](repeating: 0, count: 2 * size)
        slots[2 * rank] = Double(value >> 32)
        slots[2 * rank + 1] = Double(value & 0xffff_ffff)
        let sum = try allReduceSum(slots)
        return (0..<size).map { UInt64(sum[2 * $0]) << 32 | UInt64(sum[2 * $0 + 1]) }
    }
}

/// One process, no MPI: rank 0 of 1; every collective returns its input.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var summary: String { "single process" }

    public func allReduceSum(_ send: UnsafeBufferPointer<Float>, into recv: UnsafeMutableBufferPointer<Float>) throws {
        try Self.copy(send, into: recv)
    }

    public func allReduceSum(_ send: UnsafeBufferPointer<Double>, into recv: UnsafeMutableBufferPointer<Double>) throws {
        try Self.copy(send, into: recv)
    }

    public func barrier() throws {}

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }

    public func finalize() throws {}

    static func copy<T>(_ send: UnsafeBufferPointer<T>, into recv: UnsafeMutableBufferPointer<T>) throws {
        guard send.count == recv.count else {
            throw EngineError.distributed("allReduceSum: \(send.count) values sent, room for \(recv.count)")
        }
        _ = recv.initialize(from: send)
    }
}
