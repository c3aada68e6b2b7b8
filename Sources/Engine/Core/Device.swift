import Foundation

/// Which implementation a backend is.
public enum DeviceKind: String, Sendable, Hashable, Codable {
    case cpu
    case opencl
}

/// A device request, as written on the command line or in `HISTOGAN_DEVICE`:
/// `auto` (first OpenCL GPU, else the CPU backend), `cpu`, `opencl` (first OpenCL device of any type)
/// or `opencl:N` (the N-th OpenCL device in `Device.list()` order).
public enum Device: Sendable, Hashable, LosslessStringConvertible {
    case auto
    case cpu
    case opencl(index: Int?)

    /// Name of the environment variable that overrides the default device.
    public static let environmentVariable = "HISTOGAN_DEVICE"

    public init?(_ description: String) {
        try? self.init(parsing: description)
    }

    /// Parses `auto`, `cpu`, `opencl`, `opencl:N`; throws `EngineError.invalidDevice` otherwise.
    public init(parsing text: String) throws {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        switch lower {
        case "auto", "": self = .auto
        case "cpu": self = .cpu
        case "opencl", "cl", "gpu": self = .opencl(index: nil)
        default:
            guard lower.hasPrefix("opencl:"), let n = Int(lower.dropFirst("opencl:".count)), n >= 0 else {
                throw EngineError.invalidDevice(text)
            }
            self = .opencl(index: n)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .opencl(nil): return "opencl"
        case .opencl(let n?): return "opencl:\(n)"
        }
    }

    /// The device named by `HISTOGAN_DEVICE`, or `auto` when it is unset.
    public static func fromEnvironment() throws -> Device {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable] else { return .auto }
        return try Device(parsing: text)
    }

    /// Creates the backend this request resolves to. `auto` picks OpenCL GPU number `gpuOrdinal % GPUs` (the first
    /// by default; a data-parallel rank passes its machine-local rank), else the CPU.
    /// `profiling` turns on OpenCL profiling events (kernel times for `Profiler`). `precision` `.tf32` asks for TF32
    /// tensor-core GEMMs; where the backend cannot do them it computes in fp32 and warns on stderr.
    public func makeBackend(profiling: Bool = false, gpuOrdinal: Int = 0, precision: MatmulPrecision = .fp32) throws -> any Backend {
        switch self {
        case .cpu: return try Self.cpuBackend(precision: precision)
        case .opencl(let index):
            let devices = OpenCLDiscovery.devices()
            guard !devices.isEmpty else { throw EngineError.noOpenCLDevice("no OpenCL platform is installed") }
            let i = index ?? 0
            guard devices.indices.contains(i) else {
                throw EngineError.noOpenCLDevice("opencl:\(i) requested, \(devices.count) device(s) present")
            }
            return try OpenCLBackend(device: devices[i], profiling: profiling, precision: precision)
        case .auto:
            let gpus = OpenCLDiscovery.devices().filter(\.isGPU)
            if !gpus.isEmpty {
                return try OpenCLBackend(device: gpus[max(gpuOrdinal, 0) % gpus.count], profiling: profiling, precision: precision)
            }
            return try Self.cpuBackend(precision: precision)
        }
    }

    private static func cpuBackend(precision: MatmulPrecision) throws -> CPUBackend {
        if precision == .tf32 {
            FileHandle.standardError.write(Data("warning: --tf32: the CPU backend has no tensor cores; the GEMMs and convolutions stay fp32\n".utf8))
        }
        return CPUBackend(convAlgorithm: try ConvAlgorithmPolicy.fromEnvironment())
    }

    /// Every device this machine offers, CPU backend first, with the one `auto` picks marked.
    public static func list() -> [DeviceInfo] {
        var all = [CPUBackend.describe()]
        let cl = OpenCLDiscovery.devices()
        all += cl.enumerated().map { $0.element.info(index: $0.offset) }
        let autoIndex = cl.firstIndex(where: { $0.isGPU }).map { $0 + 1 } ?? 0
        all[autoIndex].isAutoChoice = true
        return all
    }
}

/// What `devices` prints about one backend/device.
public struct DeviceInfo: Sendable, Codable, Hashable {
    /// The string that selects this device (`cpu`, `opencl:0`, ...).
    public var selector: String
    public var kind: DeviceKind
    public var name: String
    public var vendor: String
    public var platform: String
    public var driverVersion: String
    public var deviceType: String
    public var computeUnits: Int
    public var globalMemoryBytes: Int
    public var maxWorkGroupSize: Int
    /// Local (work-group shared) memory per work-group, bytes (0 for the CPU backend).
    public var localMemoryBytes: Int
    public var isAutoChoice: Bool
}
