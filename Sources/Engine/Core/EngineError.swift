/// Every failure the Engine reports. Each case carries enough context to say what went wrong where.
public enum EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    /// An OpenCL call returned a non-success status. `kernel` names the kernel being built or launched.
    case openCL(call: String, status: Int32, kernel: String?)
    /// An OpenCL program failed to compile; `log` is the driver's build log.
    case buildFailed(family: String, options: String, log: String)
    /// No OpenCL platform or device matches the request.
    case noOpenCLDevice(String)
    /// The requested device string could not be parsed.
    case invalidDevice(String)
    /// Shapes given to an op are inconsistent.
    case shapeMismatch(op: String, detail: String)
    /// A buffer of one backend was handed to another.
    case foreignBuffer(op: String)
    /// Host allocation failed.
    case outOfMemory(bytes: Int)
    /// An MPI library could not be loaded or a collective failed (data-parallel training).
    case distributed(String)
    /// An environment variable holds a value the engine does not understand.
    case invalidSetting(variable: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .openCL(call, status, kernel):
            let name = OpenCLStatus.name(status)
            return kernel.map { "\(call) failed with \(name) (\(status)) for kernel '\($0)'" }
                ?? "\(call) failed with \(name) (\(status))"
        case let .buildFailed(family, options, log):
            return "OpenCL build of '\(family).cl' (options: '\(options)') failed:\n\(log)"
        case let .noOpenCLDevice(detail): return "no OpenCL device: \(detail)"
        case let .invalidDevice(text):
            return "invalid device '\(text)': expected auto, cpu, opencl or opencl:N"
        case let .shapeMismatch(op, detail): return "\(op): shape mismatch: \(detail)"
        case let .foreignBuffer(op): return "\(op): buffer belongs to a different backend"
        case let .outOfMemory(bytes): return "out of memory allocating \(bytes) bytes"
        case let .distributed(detail): return "MPI: \(detail)"
        case let .invalidSetting(variable, value, expected): return "\(variable)=\(value): expected \(expected)"
        }
    }
}
