import Foundation

/// Host memory of the CPU backend: 64-byte aligned floats, returned to its backend's pool when released.
public final class CPUBuffer: Buffer, @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    private let pool: CPUBufferPool
    private let bytes: Int

    init(count: Int, pool: CPUBufferPool) throws {
        self.count = count
        bytes = CPUBufferPool.bucket(max(count, 1) * MemoryLayout<Float>.stride)
        pointer = try pool.take(bytes: bytes).bindMemory(to: Float.self, capacity: max(count, 1))
        self.pool = pool
    }

    deinit { pool.recycle(UnsafeMutableRawPointer(pointer), bytes: bytes) }
}

/// Size-keyed free lists of host memory, like the OpenCL backend's buffer pool. A training step
/// allocates the same sizes every time; reusing them saves the page faults (and zeroing) that fresh
/// multi-MiB allocations cost on every call. Free memory is capped at `freeLimit` bytes (beyond it a
/// released block goes back to the system), and emptied when an allocation fails.
final class CPUBufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var freeBytes = 0
    /// Bytes of every block this pool allocated and has not returned to the system (in use or free).
    private(set) var createdBytes = 0
    let freeLimit: Int

    init(freeLimit: Int = min(4 << 30, Int(clamping: ProcessInfo.processInfo.physicalMemory / 4))) {
        self.freeLimit = freeLimit
    }

    deinit { drain() }

    /// Bytes rounded up to 64 (small blocks) or to a 4 KiB multiple, so similar sizes share blocks.
    static func bucket(_ bytes: Int) -> Int {
        bytes < 4096 ? max(64, (bytes + 63) / 64 * 64) : (bytes + 4095) / 4096 * 4096
    }

    func take(bytes: Int) throws -> UnsafeMutableRawPointer {
        let reused: UnsafeMutableRawPointer? = lock.withLock {
            guard let p = free[bytes]?.popLast() else { return nil }
            freeBytes -= bytes
            return p
        }
        if let reused { return reused }
        var raw = aligned_alloc(64, bytes)
        if raw == nil { drain(); raw = aligned_alloc(64, bytes) }
        guard let raw else { throw EngineError.outOfMemory(bytes: bytes) }
        lock.withLock { createdBytes += bytes }
        return raw
    }

    func recycle(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        let kept: Bool = lock.withLock {
            guard freeBytes + bytes <= freeLimit else { createdBytes -= bytes; return false }
            free[bytes, default: []].append(pointer)
            freeBytes += bytes
            return true
        }
        if !kept { Foundation.free(pointer) }
    }

    /// Returns every free block to the system.
    func drain() {
        let all: [(UnsafeMutableRawPointer, Int)] = lock.withLock {
            let blocks = free.flatMap { size, list in list.map { ($0, size) } }
            free.removeAll()
            freeBytes = 0
            createdBytes -= blocks.reduce(0) { $0 + $1.1 }
            return blocks
        }
        for (p, _) in all { Foundation.free(p) }
    }

    var totalBytes: Int { lock.withLock { createdBytes } }
}

/// The CPU backend: plain Swift loops over buffer pointers, SIMD chunks with scalar tails, threads via
/// `DispatchQueue.concurrentPerform`. It is the readable oracle the OpenCL backend is checked against.
public final class CPUBackend: Backend {
    /// Worker threads used by `parallelFor`.
    public let threads: Int

    private let pool = CPUBufferPool()
    /// Reusable scratch of the kernels (GEMM packing, convolution column blocks).
    let scratch = ScratchPool()

    /// The algorithm of the convolutions (`HISTOGAN_CONV_ALGORITHM`, default auto: Winograd for the wide 3x3 layers).
    public let convAlgorithm: ConvAlgorithmPolicy

    /// `convAlgorithm` nil: `HISTOGAN_CONV_ALGORITHM`, or auto when it is unset or invalid (`Device.makeBackend`,
    /// which the commands use, reports an invalid value as an error).
    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, convAlgorithm: ConvAlgorithmPolicy? = nil) {
        self.threads = max(1, threads)
        self.convAlgorithm = convAlgorithm ?? (try? ConvAlgorithmPolicy.fromEnvironment()) ?? .auto
    }

    public var allocatedBytes: Int { pool.totalBytes }

    public var info: DeviceInfo { CPUBackend.describe() }

    /// The CPU backend's `devices` entry.
    public static func describe() -> DeviceInfo {
        let p = ProcessInfo.processInfo
        return DeviceInfo(selector: "cpu", kind: .cpu, name: cpuModelName(), vendor: "", platform: "Swift SIMD",
                          driverVersion: "", deviceType: "CPU", computeUnits: p.activeProcessorCount,
                          globalMemoryBytes: Int(clamping: p.physicalMemory), maxWorkGroupSize: 1, localMemoryBytes: 0,
                          isAutoChoice: false)
    }

    private static func cpuModelName() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    // MARK: - Memory

    public func allocate(_ count: Int) throws -> any Buffer { try CPUBuffer(count: count, pool: pool) }

    public func upload(_ values: UnsafeBufferPointer<Float>, to buffer: any Buffer, offset: Int) throws {
        let dst = try ptr(buffer, "upload")
        precondition(offset >= 0 && offset + values.count <= buffer.count, "upload out of range")
        if let base = values.baseAddress { (dst + offset).update(from: base, count: values.count) }
    }

    public func download(_ buffer: any Buffer, offset: Int, into: UnsafeMutableBufferPointer<Float>) throws {
        let src = try ptr(buffer, "download")
        precondition(offset >= 0 && offset + into.count <= buffer.count, "download out of range")
        if let base = into.baseAddress { base.update(from: src + offset, count: into.count) }
    }

    public func synchronize() throws {}

    // MARK: - Helpers for the kernel files

    /// The host pointer behind `buffer`; throws if it belongs to another backend.
    @inline(__always)
    func ptr(_ buffer: any Buffer, _ op: String) throws -> UnsafeMutablePointer<Float> {
        guard let b = buffer as? CPUBuffer else { throw EngineError.foreignBuffer(op: op) }
        return b.pointer
    }

    /// Runs `body` over `0..<count` split into contiguous chunks of at least `grain` items, in parallel.
    func parallelFor(_ count: Int, grain: Int = 4096, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = min(threads * 4, max(1, count / max(grain, 1)))
        if chunks <= 1 { body(0..<count); return }
        let size = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * size
                let hi = min(count, lo + size)
                if lo < hi { work.value(lo..<hi) }
            }
        }
    }
}

/// Carries a value the caller guarantees is safe to share across the threads of one `parallelFor`
/// (pointers into buffers whose chunks do not overlap).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Scratch memory the kernels borrow for the length of one work chunk (GEMM packing buffers, column
/// blocks of the convolution). Fresh allocations of a few MiB come from `mmap` and page-fault on first
/// touch every call; the pool keeps up to `capacity` freed blocks for the next borrower instead.
final class ScratchPool: @unchecked Sendable {
    private struct Block { let pointer: UnsafeMutableRawPointer; let bytes: Int }
    private let lock = NSLock()
    private var free: [Block] = []
    private let capacity = 16

    /// Runs `body` with at least `count` floats, 64-byte aligned, not shared with any other caller.
    func withFloats<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let bytes = max(count, 16) * 4
        // The smallest free block that fits, else a new one.
        let block: Block = lock.withLock {
            guard let i = free.indices.filter({ free[$0].bytes >= bytes }).min(by: { free[$0].bytes < free[$1].bytes }) else {
                return nil
            }
            return free.remove(at: i)
        } ?? Block(pointer: UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes: bytes)
        defer {
            lock.withLock {
                free.append(block)
                // Over capacity: drop the smallest block (the large ones are the expensive ones).
                if free.count > capacity, let i = free.indices.min(by: { free[$0].bytes < free[$1].bytes }) {
                    free.remove(at: i).pointer.deallocate()
                }
            }
        }
        return try body(block.pointer.bindMemory(to: Float.self, capacity: block.bytes / 4))
    }

    deinit { for b in free { b.pointer.deallocate() } }
}
