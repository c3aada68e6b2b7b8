import COpenCL

/// One OpenCL device found on this machine.
public struct OpenCLDeviceDescriptor: @unchecked Sendable {
    let platform: cl_platform_id
    let device: cl_device_id
    public let platformName: String
    public let name: String
    public let vendor: String
    public let driverVersion: String
    public let type: cl_device_type
    public let computeUnits: Int
    public let globalMemoryBytes: Int
    public let maxWorkGroupSize: Int
    public let localMemoryBytes: Int

    public var isGPU: Bool { type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 }

    var typeName: String {
        if isGPU { return "GPU" }
        if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { return "CPU" }
        if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { return "accelerator" }
        return "other"
    }

    func info(index: Int) -> DeviceInfo {
        DeviceInfo(selector: "opencl:\(index)", kind: .opencl, name: name, vendor: vendor, platform: platformName,
                   driverVersion: driverVersion, deviceType: typeName, computeUnits: computeUnits,
                   globalMemoryBytes: globalMemoryBytes, maxWorkGroupSize: maxWorkGroupSize, localMemoryBytes: localMemoryBytes,
                   isAutoChoice: false)
    }
}

/// Enumerates OpenCL platforms and devices. Returns an empty list when no ICD is installed.
public enum OpenCLDiscovery {
    /// Every device of every platform, in platform order then device order (the `opencl:N` numbering).
    public static func devices() -> [OpenCLDeviceDescriptor] {
        var platformCount: cl_uint = 0
        guard clGetPlatformIDs(0, nil, &platformCount) == CL_SUCCESS, platformCount > 0 else { return [] }
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        guard clGetPlatformIDs(platformCount, &platforms, nil) == CL_SUCCESS else { return [] }
        var result: [OpenCLDeviceDescriptor] = []
        for case let platform? in platforms {
            var deviceCount: cl_uint = 0
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount) == CL_SUCCESS,
                  deviceCount > 0 else { continue }
            var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            guard clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil) == CL_SUCCESS
            else { continue }
            let platformName = platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            for case let device? in devices {
                result.append(OpenCLDeviceDescriptor(
                    platform: platform, device: device, platformName: platformName,
                    name: deviceString(device, cl_device_info(CL_DEVICE_NAME)),
                    vendor: deviceString(device, cl_device_info(CL_DEVICE_VENDOR)),
                    driverVersion: deviceString(device, cl_device_info(CL_DRIVER_VERSION)),
                    type: deviceValue(device, cl_device_info(CL_DEVICE_TYPE), cl_device_type(0)),
                    computeUnits: Int(deviceValue(device, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS), cl_uint(0))),
                    globalMemoryBytes: Int(deviceValue(device, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE), cl_ulong(0))),
                    maxWorkGroupSize: deviceValue(device, cl_device_info(CL_DEVICE_MAX_WORK_GROUP_SIZE), Int(0)),
                    localMemoryBytes: Int(deviceValue(device, cl_device_info(CL_DEVICE_LOCAL_MEM_SIZE), cl_ulong(0)))))
            }
        }
        return result
    }

    static func platformString(_ platform: cl_platform_id, _ param: cl_platform_info) -> String {
        var size = 0
        guard clGetPlatformInfo(platform, param, 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size)
        guard clGetPlatformInfo(platform, param, size, &bytes, nil) == CL_SUCCESS else { return "" }
        return trimmed(bytes)
    }

    static func deviceString(_ device: cl_device_id, _ param: cl_device_info) -> String {
        var size = 0
        guard clGetDeviceInfo(device, param, 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size)
        guard clGetDeviceInfo(device, param, size, &bytes, nil) == CL_SUCCESS else { return "" }
        return trimmed(bytes)
    }

    static func deviceValue<T: BitwiseCopyable>(_ device: cl_device_id, _ param: cl_device_info, _ zero: T) -> T {
        var value = zero
        _ = clGetDeviceInfo(device, param, MemoryLayout<T>.size, &value, nil)
        return value
    }

    private static func trimmed(_ bytes: [CChar]) -> String {
        let s = String(decoding: bytes.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.trimmingCharacters(in: .whitespaces)
    }
}

import Foundation
