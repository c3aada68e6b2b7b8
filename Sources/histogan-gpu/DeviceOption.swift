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

    @Flag(help: ArgumentHelp(
        "Multiply the GEMMs (fully connected layers, Winograd convolutions) on NVIDIA's tensor cores in TF32.",
        discussion: "Opt-in: operands lose 13 mantissa bits (relative error up to 2^-11), as with PyTorch's allow_tf32. Probed when the device opens; anywhere it does not work the GEMMs stay fp32, with a warning."))
    var tf32 = false

    /// The backend to run on, reporting a bad `HISTOGAN_DEVICE` as a usage error. `gpuOrdinal`: which GPU `auto`
    /// takes (modulo the GPU count); data-parallel ranks pass their machine-local rank.
    func makeBackend(profiling: Bool = false, gpuOrdinal: Int = 0) throws -> any Backend {
        let chosen: Device
        if let device { chosen = device } else {
            do { chosen = try Device.fromEnvironment() } catch {
                throw ValidationError("\(Device.environmentVariable): \(error)")
            }
        }
        return try chosen.makeBackend(profiling: profiling, gpuOrdinal: gpuOrdinal, precision: tf32 ? .tf32 : .fp32)
    }
}
