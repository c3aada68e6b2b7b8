import Engine
import TestSupport
import XCTest

final class DeviceTests: XCTestCase {
    func testParsesDeviceStrings() throws {
        XCTAssertEqual(try Device(parsing: "auto"), .auto)
        XCTAssertEqual(try Device(parsing: "CPU"), .cpu)
        XCTAssertEqual(try Device(parsing: "opencl"), .opencl(index: nil))
        XCTAssertEqual(try Device(parsing: "opencl:2"), .opencl(index: 2))
        XCTAssertThrowsError(try Device(parsing: "cuda")) { error in
            XCTAssertTrue("\(error)".contains("cuda"), "error names the bad input: \(error)")
        }
        XCTAssertThrowsError(try Device(parsing: "opencl:-1"))
    }

    func testListsCPUAndMarksOneAutoChoice() {
        let list = Device.list()
        XCTAssertEqual(list.first?.selector, "cpu")
        XCTAssertEqual(list.filter(\.isAutoChoice).count, 1)
        if TestBackends.opencl != nil {
            XCTAssertTrue(list.contains { $0.kind == .opencl }, "OpenCL device present but not listed")
        }
    }

    /// The launch counter counts every enqueued kernel: a fill is one launch, two fills two; the CPU backend has none.
    func testKernelLaunchesCountEveryEnqueuedKernel() throws {
        XCTAssertNil(TestBackends.cpu.kernelLaunches)
        let cl = try TestBackends.requireOpenCL()
        let buffer = try cl.allocate(37)
        try cl.synchronize()
        let before = try XCTUnwrap(cl.kernelLaunches)
        try cl.fill(buffer, count: 37, value: 1)
        XCTAssertEqual(cl.kernelLaunches, before + 1)
        try cl.fill(buffer, count: 37, value: 2)
        try cl.fill(buffer, count: 0, value: 3)          // empty: nothing is enqueued
        XCTAssertEqual(cl.kernelLaunches, before + 2)
    }

    func testOpenCLBuildErrorCarriesLog() throws {
        guard let cl = try TestBackends.requireOpenCL() as? OpenCLBackend else { return XCTFail("not an OpenCLBackend") }
        // A -D that turns a kernel's code into a syntax error: the error must name the family and carry the log.
        XCTAssertThrowsError(try cl.prebuild("elementwise", options: "-D count=)(")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("elementwise.cl") && text.contains("error"), text)
        }
        XCTAssertThrowsError(try cl.prebuild("no_such_family")) { XCTAssertTrue("\($0)".contains("no_such_family"), "\($0)") }
        XCTAssertNoThrow(try cl.prebuild("elementwise"))
    }

    func testUploadDownloadRoundTrip() throws {
        for backend in TestBackends.all {
            let values: [Float] = (0..<1000).map { Float($0) * 0.5 - 7 }
            let b = try backend.buffer(values)
            XCTAssertEqual(try backend.array(b), values, backend.label)
            var part = [Float](repeating: 0, count: 10)
            try part.withUnsafeMutableBufferPointer { try backend.download(b, offset: 500, into: $0) }
            XCTAssertEqual(part, Array(values[500..<510]), backend.label)
        }
    }

    /// Released CPU buffers go back to the backend's pool: allocating the same size again reuses the
    /// block (the byte count does not grow) and hands back its old contents, which kernels overwrite.
    func testCPUBufferPoolReusesReleasedBlocks() throws {
        let backend = CPUBackend(threads: 2)
        XCTAssertEqual(backend.allocatedBytes, 0)
        do { _ = try backend.buffer([Float](repeating: 3, count: 100_000)) }
        let afterFirst = backend.allocatedBytes
        XCTAssertGreaterThanOrEqual(afterFirst, 400_000)
        let again = try backend.allocate(100_000)
        XCTAssertEqual(backend.allocatedBytes, afterFirst, "same size: the freed block is reused")
        try backend.fill(again, count: 100_000, value: -1)
        XCTAssertTrue(try backend.array(again).allSatisfy { $0 == -1 })
        let other = try backend.allocate(50_000)
        XCTAssertGreaterThan(backend.allocatedBytes, afterFirst, "another size: a new block")
        _ = other
    }
}
