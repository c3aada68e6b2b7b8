import COpenCL
import Foundation

/// On-disk cache of compiled OpenCL programs, keyed by device name, driver version, build options and a
/// hash of the source, so a second run skips the driver's compiler. Directory: `$HISTOGAN_KERNEL_CACHE`,
/// else `$XDG_CACHE_HOME/histogan-gpu/kernels`, else `~/.cache/histogan-gpu/kernels`; `HISTOGAN_KERNEL_CACHE=off`
/// disables it. Any failure to read or write the cache falls back to building from source.
struct ProgramBinaryCache: Sendable {
    let directory: String?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let explicit = environment["HISTOGAN_KERNEL_CACHE"] {
            directory = explicit == "off" || explicit.isEmpty ? nil : explicit
        } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            directory = xdg + "/histogan-gpu/kernels"
        } else if let home = environment["HOME"], !home.isEmpty {
            directory = home + "/.cache/histogan-gpu/kernels"
        } else {
            directory = nil
        }
    }

    /// 64-bit FNV-1a of `text`, hex.
    static func hash(_ text: String) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100000001b3 }
        return String(h, radix: 16)
    }

    func path(device: OpenCLDeviceDescriptor, options: String, source: String) -> String? {
        guard let directory else { return nil }
        let key = ProgramBinaryCache.hash("\(device.name)|\(device.driverVersion)|\(device.platformName)|\(options)|\(source)")
        return "\(directory)/\(key).bin"
    }

    /// A program created from the cached binary and built, or nil when there is none or it fails.
    func load(context: cl_context, device: OpenCLDeviceDescriptor, options: String, source: String) -> cl_program? {
        guard let path = path(device: device, options: options, source: source),
              let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        var status: cl_int = 0
        var binaryStatus: cl_int = 0
        var dev: cl_device_id? = device.device
        var length = data.count
        let program: cl_program? = data.withUnsafeBytes { raw in
            var pointer: UnsafePointer<UInt8>? = raw.bindMemory(to: UInt8.self).baseAddress
            return clCreateProgramWithBinary(context, 1, &dev, &length, &pointer, &binaryStatus, &status)
        }
        guard let program, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let program { clReleaseProgram(program) }
            return nil
        }
        guard clBuildProgram(program, 1, &dev, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            return nil
        }
        return program
    }

    /// Saves the binary of a built single-device program (atomically; errors are ignored).
    func store(_ program: cl_program, device: OpenCLDeviceDescriptor, options: String, source: String) {
        guard let path = path(device: device, options: options, source: source), let directory else { return }
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil) == CL_SUCCESS,
              size > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: size)
        let status = bytes.withUnsafeMutableBufferPointer { buffer -> cl_int in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
        }
        guard status == CL_SUCCESS else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? AtomicFile.write(Data(bytes), to: path)
    }
}
