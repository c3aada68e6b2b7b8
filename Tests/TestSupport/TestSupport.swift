import Engine
import Foundation
import XCTest

/// Backends shared by all tests. The OpenCL one is built once (PoCL compiles each program slowly).
public enum TestBackends {
    public static let cpu: any Backend = CPUBackend()

    /// The first OpenCL device, or nil (tests then skip with a visible message).
    public static let opencl: (any Backend)? = {
        if ProcessInfo.processInfo.environment["HISTOGAN_TEST_NO_OPENCL"] != nil { return nil }
        guard let first = OpenCLDiscovery.devices().first else { return nil }
        return try? OpenCLBackend(device: first)
    }()

    /// Every available backend, CPU first.
    public static var all: [any Backend] { [cpu] + (opencl.map { [$0] } ?? []) }

    /// The OpenCL backend, or an `XCTSkip` naming why parity cannot run.
    public static func requireOpenCL() throws -> any Backend {
        guard let cl = opencl else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("CI=true but no OpenCL device: PoCL is not installed, parity would be skipped")
            }
            throw XCTSkip("no OpenCL platform present: OpenCL parity test skipped (CI installs PoCL)")
        }
        return cl
    }
}

/// Deterministic test data: a 64-bit LCG (independent of the Engine's Philox generator).
public struct TestRNG {
    public var state: UInt64
    public init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }

    public mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    public mutating func floats(_ count: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(lo, hi) }
    }
}

extension Backend {
    /// A new buffer holding `values`.
    public func buffer(_ values: [Float]) throws -> any Buffer {
        let b = try allocate(values.count)
        try values.withUnsafeBufferPointer { try upload($0, to: b, offset: 0) }
        return b
    }

    /// A new buffer of `count` NaNs, so an element a kernel fails to write cannot pass a comparison.
    public func poisoned(_ count: Int) throws -> any Buffer {
        try buffer([Float](repeating: .nan, count: count))
    }

    /// The whole contents of `buffer`.
    public func array(_ buffer: any Buffer) throws -> [Float] {
        var out = [Float](repeating: 0, count: buffer.count)
        try out.withUnsafeMutableBufferPointer { try download(buffer, offset: 0, into: $0) }
        return out
    }

    public var label: String { info.selector }
}

/// ‖a − b‖₂ / max(‖b‖₂, tiny), in Double; NaN anywhere gives +inf.
public func relativeL2(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var num = 0.0, den = 0.0
    for i in a.indices {
        let x = Double(a[i])
        if !x.isFinite || !b[i].isFinite { return .infinity }
        num += (x - b[i]) * (x - b[i])
        den += b[i] * b[i]
    }
    return (num / max(den, 1e-30)).squareRoot()
}

public func relativeL2(_ a: [Float], _ b: [Float]) -> Double { relativeL2(a, b.map(Double.init)) }

/// Asserts `relativeL2(actual, expected) <= tolerance`, printing the first mismatching indices.
public func assertClose(_ actual: [Float], _ expected: [Double], tolerance: Double = 1e-5, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(what): \(actual.count) elements, expected \(expected.count)", file: file, line: line)
        return
    }
    let err = relativeL2(actual, expected)
    if err <= tolerance { return }
    var report: [String] = []
    let scale = expected.reduce(0) { max($0, abs($1)) }
    for i in actual.indices where report.count < 6 {
        let d = abs(Double(actual[i]) - expected[i])
        if !(d <= 1e-4 * max(scale, 1e-6) + tolerance * abs(expected[i])) {
            report.append("[\(i)] got \(actual[i]) want \(expected[i])")
        }
    }
    XCTFail("\(what): relative L2 error \(err) > \(tolerance); first mismatches: \(report.joined(separator: ", "))",
            file: file, line: line)
}

public func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Double = 1e-5, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual, expected.map(Double.init), tolerance: tolerance, what, file: file, line: line)
}

/// The `histogan-gpu` binary built beside the test bundle (`swift build` puts both in one folder); the test is
/// skipped when it is not there.
public func histoganBinary() throws -> URL {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("histogan-gpu")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw XCTSkip("histogan-gpu is not built beside the tests (\(binary.path))")
    }
    return binary
}

/// Runs the `histogan-gpu` binary with `arguments` (and `environment` added to this process's), returning its
/// exit status and its standard output and error together.
public func runHistogan(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    try runProcess(try histoganBinary(), arguments, environment: environment)
}

/// `name` from PATH, or nil.
public func executableOnPath(_ name: String) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
}

/// Runs `executable` with `arguments` (and `environment` added to this process's), returning its exit status and its
/// standard output and error together.
public func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Rank `rank` of `size` in a job whose other ranks are simulated: every all-reduce adds what the other ranks would
/// have sent, `others(call, i)` for element i of call number `call`, and records each call's size.
public final class SimulatedRanks: Communicator {
    public let rank: Int, size: Int
    let others: (Int, Int) -> Double
    public private(set) var callSizes: [Int] = []
    public init(rank: Int, size: Int, others: @escaping (Int, Int) -> Double) { self.rank = rank; self.size = size; self.others = others }
    public var localRank: Int { rank }
    public var summary: String { "simulated" }
    public func allReduceSum(_ send: UnsafeBufferPointer<Float>, into recv: UnsafeMutableBufferPointer<Float>) throws {
        let call = callSizes.count
        callSizes.append(send.count)
        for i in send.indices { recv[i] = send[i] + Float(others(call, i)) }
    }
    public func allReduceSum(_ send: UnsafeBufferPointer<Double>, into recv: UnsafeMutableBufferPointer<Double>) throws {
        let call = callSizes.count
        callSizes.append(send.count)
        for i in send.indices { recv[i] = send[i] + others(call, i) }
    }
    public func barrier() throws {}
    public func abort(_ message: String, code: Int32) -> Never { fatalError(message) }
    public func finalize() throws {}
}
