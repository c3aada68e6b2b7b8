import ArgumentParser
import Engine

extension Device: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

/// `--device`, shared by every command that computes.
struct DeviceOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "auto (first OpenCL GPU, else CPU), cpu, opencl or opencl:N. Default: $HISTOGAN_DEVICE or auto.",
        valueName: "device"))
    var device: Device?

    /// The backend to run on, reporting a bad `HISTOGAN_DEVICE` as a usage error. `gpuOrdinal`: which GPU `auto`
    /// takes (modulo the GPU count); data-parallel ranks pass their machine-local rank.
    func makeBackend(profiling: Bool = false, gpuOrdinal: Int = 0) throws -> any Backend {
        let chosen: Device
        if let device { chosen = device } else {
            do { chosen = try Device.fromEnvironment() } catch {
                throw ValidationError("\(Device.environmentVariable): \(error)")
            }
        }
        return try chosen.makeBackend(profiling: profiling, gpuOrdinal: gpuOrdinal)
    }
}
