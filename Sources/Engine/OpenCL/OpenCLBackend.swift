import COpenCL
import Foundation
import Kernels

/// Device memory of the OpenCL backend. Returned to its backend's pool when released.
public final class CLBuffer: Buffer, @unchecked Sendable {
    public let count: Int
    let mem: cl_mem
    let bytes: Int
    let pool: CLBufferPool

    init(count: Int, mem: cl_mem, bytes: Int, pool: CLBufferPool) {
        self.count = count; self.mem = mem; self.bytes = bytes; self.pool = pool
    }

    deinit { pool.recycle(mem, bytes: bytes) }
}

/// Size-keyed free lists of `cl_mem`. On allocation failure the caller empties it and retries.
/// `checked`: no pooling and no rounding, each buffer its own `cl_mem` of exactly its size, released when freed
/// (`OpenCLBackend.checkedBuffers`).
final class CLBufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [cl_mem]] = [:]
    private let context: cl_context
    let checked: Bool
    /// Bytes of every `cl_mem` this pool created and has not released (in use or free).
    private(set) var createdBytes = 0

    init(context: cl_context, checked: Bool = false) {
        self.context = context
        self.checked = checked
        clRetainContext(context)
    }

    deinit {
        drain()
        clReleaseContext(context)
    }

    /// Bytes rounded up to a 4 KiB multiple so similar sizes share buffers.
    static func bucket(_ bytes: Int) -> Int { max(4096, (bytes + 4095) / 4096 * 4096) }

    /// The size of the `cl_mem` for `bytes`: its bucket, or exactly `bytes` (at least one float) when checked.
    func size(for bytes: Int) -> Int { checked ? max(4, bytes) : Self.bucket(bytes) }

    func take(bytes: Int) -> cl_mem? {
        checked ? nil : lock.withLock { free[bytes]?.popLast() }
    }

    func recycle(_ mem: cl_mem, bytes: Int) {
        if checked {
            clReleaseMemObject(mem)
            lock.withLock { createdBytes -= bytes }
        } else {
            lock.withLock { free[bytes, default: []].append(mem) }
        }
    }

    func drain() {
        let all = lock.withLock { () -> [cl_mem] in
            let mems = free.values.flatMap { $0 }
            free.removeAll()
            return mems
        }
        var released = 0
        for m in all {
            var size = 0
            clGetMemObjectInfo(m, cl_mem_info(CL_MEM_SIZE), MemoryLayout<Int>.size, &size, nil)
            released += size
            clReleaseMemObject(m)
        }
        lock.withLock { createdBytes -= released }
    }

    var totalBytes: Int { lock.withLock { createdBytes } }

    func create(bytes: Int) throws -> cl_mem {
        var status: cl_int = 0
        if let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status), status == CL_SUCCESS {
            lock.withLock { createdBytes += bytes }
            return mem
        }
        drain()
        let mem = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        try check(status, "clCreateBuffer(\(bytes) bytes)")
        guard let mem else { throw EngineError.outOfMemory(bytes: bytes) }
        lock.withLock { createdBytes += bytes }
        return mem
    }
}

/// An argument of an OpenCL kernel launch.
enum KernelArg {
    case buffer(any Buffer)
    case int(Int32)
    case float(Float)
    case ulong(UInt64)
    /// Eight ints (`int8` in OpenCL C).
    case ints8(SIMD8<Int32>)
    /// Sixteen ints (`int16` in OpenCL C).
    case ints16(SIMD16<Int32>)
    /// Local (work-group shared) memory of this many bytes.
    case local(Int)

    static func int(_ v: Int) -> KernelArg { .int(Int32(truncatingIfNeeded: v)) }

    /// An `int8` of up to eight `values`, padded with `pad` (no heap: arguments are built for every launch).
    static func int8<T: BinaryInteger>(_ values: [T], pad: Int32 = 0) -> KernelArg {
        precondition(values.count <= 8, "\(values.count) values for an int8")
        var v = SIMD8<Int32>(repeating: pad)
        for (i, x) in values.enumerated() { v[i] = Int32(truncatingIfNeeded: x) }
        return .ints8(v)
    }

    /// An `int16` of up to sixteen `values`, padded with `pad`.
    static func int16<T: BinaryInteger>(_ values: [T], pad: Int32 = 0) -> KernelArg {
        precondition(values.count <= 16, "\(values.count) values for an int16")
        var v = SIMD16<Int32>(repeating: pad)
        for (i, x) in values.enumerated() { v[i] = Int32(truncatingIfNeeded: x) }
        return .ints16(v)
    }
}

/// The OpenCL backend: one context and in-order queue on one device, programs built once per
/// (family, options) and cached, kernels cached by name, buffers pooled by size.
///
/// Launches are serialised by a lock owned by the instance (`clSetKernelArg` is not thread-safe).
public final class OpenCLBackend: Backend, @unchecked Sendable {
    public let device: OpenCLDeviceDescriptor
    public let info: DeviceInfo
    let context: cl_context
    let queue: cl_command_queue
    let pool: CLBufferPool
    /// When true every launch waits for its event and adds its time to `kernelTimes`.
    public let profiling: Bool
    /// Local-memory staging of the tiled kernels' operand tiles (double-buffered unless told otherwise).
    public let staging: TileStaging
    /// The algorithm of convolutions the tuning table has no entry for (`HISTOGAN_CONV_ALGORITHM`, default auto).
    public let convAlgorithm: ConvAlgorithmPolicy

    private let binaryCache = ProgramBinaryCache()
    /// `HISTOGAN_CL_OPTIONS`: extra OpenCL build options appended to every program's (e.g. `-cl-opt-disable` to
    /// check the kernels unoptimised, `-cl-nv-verbose` for NVIDIA's register counts in the build log).
    private let extraBuildOptions = ProcessInfo.processInfo.environment["HISTOGAN_CL_OPTIONS"].map { " " + $0 } ?? ""
    /// `HISTOGAN_CL_BUILD_LOG=1`: every program's build log (warnings; NVIDIA's register counts with
    /// `-cl-nv-verbose`) goes to stderr after a successful build. Programs loaded from the kernel cache are not built.
    private let printBuildLogs = ProcessInfo.processInfo.environment["HISTOGAN_CL_BUILD_LOG"] == "1"
    /// `HISTOGAN_CL_DUMP_SOURCES=DIR`: every program variant's full text and build options go to DIR (for compiling
    /// them with another compiler, `scripts/ptx-check.py`).
    private let sourceDumpDirectory = ProcessInfo.processInfo.environment["HISTOGAN_CL_DUMP_SOURCES"]
    private let lock = NSLock()
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]
    private var times: [String: (count: Int, seconds: Double)] = [:]
    private var launches = 0
    /// `HISTOGAN_CL_CHECKED_BUFFERS=1`: every allocation is a `cl_mem` of exactly its size (no pool, no 4 KiB
    /// rounding), filled with NaN. A kernel that reads past a buffer's end then faults under a checker such as
    /// Oclgrind, and one that reads memory nothing wrote gets NaN into its results. For checking only: slower.
    public let checkedBuffers: Bool
    /// Tuning table in use and the shape recorder of `histogan-gpu tune` (OpenCLBackend+Tuning.swift).
    let tuning: TuningState
    /// Why no tuning table is in use although one was looked for (a corrupt file, named), nil otherwise.
    public let tuningNotice: String?
    /// How `gemm` and the convolutions multiply: fp32 unless TF32 was asked for and works here
    /// (OpenCLBackend+TensorCores.swift).
    public internal(set) var matmulArithmetic = MatmulArithmetic.fp32
    /// Why the products stay fp32 although TF32 was asked for (device, build log or probe error), nil otherwise.
    public internal(set) var precisionNotice: String?

    /// Opens `device`. `profiling` enables per-kernel timing through OpenCL events. `tuning` says where the
    /// device's tuning table lives (default: beside the kernel binaries, unless `HISTOGAN_TUNING=off`); a
    /// corrupt table is ignored with a warning on stderr naming the file (also kept in `tuningNotice`).
    /// `staging` nil: `HISTOGAN_TILE_STAGING`, else double-buffered. `convAlgorithm` nil: `HISTOGAN_CONV_ALGORITHM`,
    /// else auto. `precision` `.tf32` asks for TF32 tensor-core products (NVIDIA; probed here, fp32 with a warning on
    /// stderr and in `precisionNotice` where they do not work); `emulateTensorCores` (nil: `HISTOGAN_TF32_EMULATE=1`)
    /// runs the TF32 kernels with `mma.sync` emulated, on any device. `checkedBuffers` nil:
    /// `HISTOGAN_CL_CHECKED_BUFFERS=1`.
    public init(device: OpenCLDeviceDescriptor, profiling: Bool = false,
                tuning settings: TuningSettings = .fromEnvironment(), staging: TileStaging? = nil,
                convAlgorithm: ConvAlgorithmPolicy? = nil, precision: MatmulPrecision = .fp32,
                emulateTensorCores: Bool? = nil, checkedBuffers checkedBuffersSetting: Bool? = nil) throws {
        self.device = device
        self.profiling = profiling
        self.staging = try staging ?? TileStaging.fromEnvironment()
        self.convAlgorithm = try convAlgorithm ?? ConvAlgorithmPolicy.fromEnvironment()
        var table: TuningTable?
        var notice: String?
        if settings.enabled, let directory = settings.directory {
            do { table = try TuningTable.load(for: TuningKey(device: device), in: directory) } catch {
                notice = "warning: \(error); using the built-in tile heuristics"
                FileHandle.standardError.write(Data((notice! + "\n").utf8))
            }
        }
        tuning = TuningState(table: table)
        tuningNotice = notice
        let index = OpenCLDiscovery.devices().firstIndex { $0.device == device.device } ?? 0
        info = device.info(index: index)
        var status: cl_int = 0
        var dev: cl_device_id? = device.device
        var properties: [cl_context_properties] = [cl_context_properties(CL_CONTEXT_PLATFORM),
                                                   cl_context_properties(Int(bitPattern: UnsafeRawPointer(device.platform))), 0]
        let ctx = clCreateContext(&properties, 1, &dev, nil, nil, &status)
        try check(status, "clCreateContext")
        guard let ctx else { throw EngineError.noOpenCLDevice("clCreateContext returned nil") }
        let queueProps = profiling ? cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE) : 0
        let q = clCreateCommandQueue(ctx, device.device, queueProps, &status)
        if status != CL_SUCCESS { clReleaseContext(ctx) }
        try check(status, "clCreateCommandQueue")
        context = ctx
        queue = q!
        checkedBuffers = checkedBuffersSetting ?? (ProcessInfo.processInfo.environment["HISTOGAN_CL_CHECKED_BUFFERS"] == "1")
        pool = CLBufferPool(context: ctx, checked: checkedBuffers)
        if precision == .tf32 {
            enableTensorCores(emulated: emulateTensorCores ?? (ProcessInfo.processInfo.environment["HISTOGAN_TF32_EMULATE"] == "1"))
        }
    }

    deinit {
        clFinish(queue)
        for k in kernels.values { clReleaseKernel(k) }
        for p in programs.values { clReleaseProgram(p) }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: - Memory

    public func allocate(_ count: Int) throws -> any Buffer {
        let bytes = pool.size(for: count * MemoryLayout<Float>.stride)
        let mem = try pool.take(bytes: bytes) ?? pool.create(bytes: bytes)
        let buffer = CLBuffer(count: count, mem: mem, bytes: bytes, pool: pool)
        if checkedBuffers { try poison(mem, bytes: bytes) }
        return buffer
    }

    /// NaN in every float of `mem` by `clEnqueueFillBuffer` (a copy engine's job, not a kernel launch: the launch
    /// counter and the profile do not see it).
    private func poison(_ mem: cl_mem, bytes: Int) throws {
        var nan = Float.nan
        let status = lock.withLock {
            clEnqueueFillBuffer(queue, mem, &nan, MemoryLayout<Float>.size, 0, bytes, 0, nil, nil)
        }
        try check(status, "clEnqueueFillBuffer")
    }

    public func upload(_ values: UnsafeBufferPointer<Float>, to buffer: any Buffer, offset: Int) throws {
        let b = try cl(buffer, "upload")
        precondition(offset >= 0 && offset + values.count <= buffer.count, "upload out of range")
        guard values.count > 0, let base = values.baseAddress else { return }
        let status = lock.withLock {
            clEnqueueWriteBuffer(queue, b.mem, cl_bool(CL_TRUE), offset * 4, values.count * 4, base, 0, nil, nil)
        }
        try check(status, "clEnqueueWriteBuffer")
    }

    public func download(_ buffer: any Buffer, offset: Int, into: UnsafeMutableBufferPointer<Float>) throws {
        let b = try cl(buffer, "download")
        precondition(offset >= 0 && offset + into.count <= buffer.count, "download out of range")
        guard into.count > 0, let base = into.baseAddress else { return }
        let status = lock.withLock {
            clEnqueueReadBuffer(queue, b.mem, cl_bool(CL_TRUE), offset * 4, into.count * 4, base, 0, nil, nil)
        }
        try check(status, "clEnqueueReadBuffer")
    }

    public var allocatedBytes: Int { pool.totalBytes }

    public func synchronize() throws {
        let status = lock.withLock { clFinish(queue) }
        try check(status, "clFinish")
    }

    /// Total time and launch count per kernel name since the last `resetKernelTimes()` (profiling only).
    public var kernelTimes: [String: (count: Int, seconds: Double)] { lock.withLock { times } }

    public func resetKernelTimes() { lock.withLock { times.removeAll() } }

    /// Kernels enqueued by `launch` since the backend was created (`clEnqueueNDRangeKernel` calls).
    public var kernelLaunches: Int? { lock.withLock { launches } }

    /// Programs built (or loaded from the binary cache) so far: one per kernel file and build-option string.
    public var builtPrograms: Int { lock.withLock { programs.count } }

    // MARK: - Helpers for the kernel files

    /// The `CLBuffer` behind `buffer`; throws if it belongs to another backend.
    @inline(__always)
    func cl(_ buffer: any Buffer, _ op: String) throws -> CLBuffer {
        guard let b = buffer as? CLBuffer, b.pool === pool else { throw EngineError.foreignBuffer(op: op) }
        return b
    }

    /// Enqueues `family.cl`'s kernel `name` built with `options` over `global` work-items (rounded up
    /// to a multiple of `local` when given). Kernels must bounds-check their global ids.
    func launch(_ family: String, _ name: String, options: String = "", global: [Int], local: [Int]? = nil,
                _ args: [KernelArg]) throws {
        precondition(!global.isEmpty && global.count <= 3)
        if global.contains(where: { $0 <= 0 }) { return }
        var globalSize = global
        if let local {
            for d in global.indices { globalSize[d] = (global[d] + local[d] - 1) / local[d] * local[d] }
        }
        try lock.withLock {
            let kernel = try kernelLocked(family: family, name: name, options: options)
            for (i, arg) in args.enumerated() {
                let status: cl_int
                switch arg {
                case let .buffer(b):
                    var m: cl_mem? = try cl(b, name).mem
                    status = clSetKernelArg(kernel, cl_uint(i), MemoryLayout<cl_mem>.size, &m)
                case .int(var v): status = clSetKernelArg(kernel, cl_uint(i), 4, &v)
                case .float(var v): status = clSetKernelArg(kernel, cl_uint(i), 4, &v)
                case .ulong(var v): status = clSetKernelArg(kernel, cl_uint(i), 8, &v)
                case .ints8(var v): status = clSetKernelArg(kernel, cl_uint(i), MemoryLayout<SIMD8<Int32>>.size, &v)
                case .ints16(var v): status = clSetKernelArg(kernel, cl_uint(i), MemoryLayout<SIMD16<Int32>>.size, &v)
                case let .local(bytes): status = clSetKernelArg(kernel, cl_uint(i), bytes, nil)
                }
                try check(status, "clSetKernelArg(\(i))", kernel: name)
            }
            var event: cl_event?
            let localSize = local ?? []
            let status = withUnsafeMutablePointer(to: &event) { eventPointer in
                clEnqueueNDRangeKernel(queue, kernel, cl_uint(global.count), nil, globalSize,
                                       local == nil ? nil : localSize, 0, nil, profiling ? eventPointer : nil)
            }
            try check(status, "clEnqueueNDRangeKernel", kernel: name)
            launches += 1
            if let event {
                defer { clReleaseEvent(event) }
                try check(clWaitForEvents(1, [event]), "clWaitForEvents", kernel: name)
                var start: cl_ulong = 0, end: cl_ulong = 0
                clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil)
                clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil)
                let seconds = Double(end &- start) * 1e-9
                let entry = times[name] ?? (0, 0)
                times[name] = (entry.count + 1, entry.seconds + seconds)
                Profiler.addKernelTime(seconds, op: name)
            }
        }
    }

    /// Compiles kernel family `family` (a `Sources/Kernels/<family>.cl` basename) with build `options` ahead of
    /// its first launch; throws `EngineError.buildFailed` carrying the driver's build log.
    public func prebuild(_ family: String, options: String = "") throws {
        _ = try lock.withLock { try programLocked(family: family, options: options) }
    }

    /// Builds (once) and returns kernel `name` of `family` with `options`. Caller holds `lock`.
    private func kernelLocked(family: String, name: String, options: String) throws -> cl_kernel {
        let key = "\(family)|\(options)|\(name)"
        if let k = kernels[key] { return k }
        let program = try programLocked(family: family, options: options)
        var status: cl_int = 0
        let k = clCreateKernel(program, name, &status)
        try check(status, "clCreateKernel", kernel: name)
        kernels[key] = k!
        return k!
    }

    private func programLocked(family: String, options: String) throws -> cl_program {
        let key = "\(family)|\(options)"
        if let p = programs[key] { return p }
        guard let source = hg_kernel_source(family) else {
            throw EngineError.buildFailed(family: family, options: options, log: "no kernel family named '\(family)'")
        }
        // GPUs get their helpers force-inlined (strided_index.cl: INLINE). CPU drivers (PoCL) vectorise across
        // work-items and ran the GEMM up to 1.5x slower with every helper inlined into the kernel, so they keep `inline`.
        let inlining = info.deviceType == "CPU" ? "" : " -D ALWAYS_INLINE"
        let fullOptions = "-cl-std=CL1.2 " + options + inlining + extraBuildOptions
        // Helpers shared by every family come first (strided_index.cl), then those of the tiled kernels (tf32.cl).
        let helpers = ["strided_index"] + (Self.tensorCoreFamilies.contains(family) ? ["tf32"] : [])
        let sourceText = helpers.map { hg_kernel_source($0).map { String(cString: $0) } ?? "" }.joined(separator: "\n")
            + "\n" + String(cString: source)
        if let directory = sourceDumpDirectory { dumpSource(sourceText, family: family, options: fullOptions, to: directory) }
        if let cached = binaryCache.load(context: context, device: device, options: fullOptions, source: sourceText) {
            programs[key] = cached
            return cached
        }
        var status: cl_int = 0
        let program = sourceText.withCString { text -> cl_program? in
            var src: UnsafePointer<CChar>? = text
            return clCreateProgramWithSource(context, 1, &src, nil, &status)
        }
        try check(status, "clCreateProgramWithSource", kernel: family)
        var dev: cl_device_id? = device.device
        let buildStatus = clBuildProgram(program, 1, &dev, fullOptions, nil, nil)
        if buildStatus != CL_SUCCESS {
            let log = buildLog(program!)
            clReleaseProgram(program)
            throw EngineError.buildFailed(family: family, options: fullOptions, log: log.isEmpty ? OpenCLStatus.name(buildStatus) : log)
        }
        if printBuildLogs {
            let log = buildLog(program!).trimmingCharacters(in: .whitespacesAndNewlines)
            if !log.isEmpty { FileHandle.standardError.write(Data("build log of \(family) [\(fullOptions)]:\n\(log)\n".utf8)) }
        }
        binaryCache.store(program!, device: device, options: fullOptions, source: sourceText)
        programs[key] = program!
        return program!
    }

    /// Writes the program text as built, its options in a first comment line, to `directory/<family>-<hash>.cl`
    /// (`HISTOGAN_CL_DUMP_SOURCES`); failures are ignored, it is a debugging aid.
    private func dumpSource(_ source: String, family: String, options: String, to directory: String) {
        // One file per program variant: the options' hash names it.
        let url = URL(fileURLWithPath: directory).appendingPathComponent("\(family)-\(ProgramBinaryCache.hash(options)).cl")
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? Data("// options: \(options)\n\(source)".utf8).write(to: url)
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        clGetProgramBuildInfo(program, device.device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        guard size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size)
        clGetProgramBuildInfo(program, device.device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        return String(decoding: bytes.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The kernel families with a TF32 tensor-core path, which tf32.cl is prepended to.
    static let tensorCoreFamilies: Set<String> = ["gemm", "conv2d"]

    /// Work-group size for 1-D launches.
    static let localSize1D = 256
}
