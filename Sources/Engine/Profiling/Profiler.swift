import Foundation

/// Per-layer timing of ops. While a profiler is active (`Profiler.$current`), every tensor op records its
/// wall time (the backend is synchronised around it) under the current layer scope and phase; the OpenCL
/// backend, when created with `profiling: true`, also adds the kernels' own times from profiling events.
/// Backward ops are attributed to the scope that recorded their forward op.
public final class Profiler: @unchecked Sendable {
    /// Where a time is attributed.
    public struct Key: Hashable, Sendable, Codable {
        public var scope: String
        public var phase: String
        public var op: String
    }

    /// Accumulated times of one key.
    public struct Entry: Sendable, Codable {
        /// Tensor-op calls timed under this key (0 for a key that names an OpenCL kernel).
        public var calls = 0
        public var wallSeconds = 0.0
        /// OpenCL kernel launches and their device time (profiling events) under this key.
        public var launches = 0
        public var kernelSeconds = 0.0
    }

    /// The active profiler, if any.
    @TaskLocal public static var current: Profiler?
    /// The layer currently running (e.g. `synthesis.b8.conv0`); "" outside any layer.
    @TaskLocal public static var scope = ""
    /// "forward" or "backward".
    @TaskLocal public static var phase = "forward"

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]

    public init() {}

    /// Runs `body` attributed to layer `name` (the innermost scope wins).
    public static func withScope<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard current != nil else { return try body() }
        return try $scope.withValue(name) { try body() }
    }

    /// Runs op `name` of `backend`, timing it when a profiler is active.
    static func measure(_ name: String, _ backend: any Backend, _ body: () throws -> Void) throws {
        guard let profiler = current else { return try body() }
        try backend.synchronize()
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        try backend.synchronize()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        profiler.add(Key(scope: scope, phase: phase, op: name)) { $0.calls += 1; $0.wallSeconds += seconds }
    }

    /// Adds one launch of kernel `kernel` and its device time (OpenCL profiling events) under the current scope.
    static func addKernelTime(_ seconds: Double, op kernel: String) {
        current?.add(Key(scope: scope, phase: phase, op: kernel)) { $0.launches += 1; $0.kernelSeconds += seconds }
    }

    func add(_ key: Key, _ update: (inout Entry) -> Void) {
        lock.withLock { update(&entries[key, default: Entry()]) }
    }

    /// Everything recorded so far.
    public var records: [Key: Entry] { lock.withLock { entries } }

    public func reset() { lock.withLock { entries.removeAll() } }
}
