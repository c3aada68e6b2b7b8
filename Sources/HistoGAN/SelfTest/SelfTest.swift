import Engine
import Foundation

/// One kernel case of `histogan-gpu selftest`: a primitive run on a fixed, awkward shape.
///
/// 1. `run` draws its inputs from `SelfTestContext` (seeded, so both backends see the same numbers),
///    allocates its outputs poisoned with NaN, calls one or more `Backend` primitives and reads the
///    outputs back.
/// 2. `SelfTest` runs it on the device under test and on the reference backend and compares every
///    output by relative L2 error against `tolerance`.
public struct SelfTestCase: Sendable {
    /// Kernel family, named after its `.cl` file and direction (`conv2d grad-input`, `histogram bwd`).
    public var family: String
    /// Human-readable shape (`[2,3,13,11] * [5,3,3,3] pad 1`).
    public var shape: String
    /// Largest relative L2 error that passes (0 asks for bit-identical outputs).
    public var tolerance: Double
    /// Part of the `--quick` subset.
    public var quick: Bool
    /// Runs the case on the context's backend and returns its outputs.
    public var run: @Sendable (SelfTestContext) throws -> [[Float]]

    public init(family: String, shape: String, tolerance: Double = 1e-5, quick: Bool = true,
                run: @escaping @Sendable (SelfTestContext) throws -> [[Float]]) {
        self.family = family; self.shape = shape; self.tolerance = tolerance; self.quick = quick; self.run = run
    }
}

/// What a case's closure sees: the backend and seeded input helpers.
public struct SelfTestContext: @unchecked Sendable {
    public let backend: any Backend

    public init(backend: any Backend) { self.backend = backend }

    /// A buffer of `count` values uniform in `range`, the same for every backend given the same `seed`.
    public func input(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) throws -> any Buffer {
        try buffer(Self.values(count, seed: seed, in: range))
    }

    /// `count` values uniform in `range`, from `seed`.
    static func values(_ count: Int, seed: UInt64, in range: ClosedRange<Float>) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * rng.unit() }
    }

    /// A buffer holding `values`.
    public func buffer(_ values: [Float]) throws -> any Buffer {
        let b = try backend.allocate(max(values.count, 1))
        if !values.isEmpty { try values.withUnsafeBufferPointer { try backend.upload($0, to: b, offset: 0) } }
        return b
    }

    /// `count` NaNs, so an element a kernel fails to write cannot pass the comparison.
    public func poisoned(_ count: Int) throws -> any Buffer {
        try buffer([Float](repeating: .nan, count: count))
    }

    /// The contents of each buffer, after the backend has finished.
    public func read(_ buffers: any Buffer...) throws -> [[Float]] {
        try backend.synchronize()
        return try buffers.map { b in
            var out = [Float](repeating: 0, count: b.count)
            try out.withUnsafeMutableBufferPointer { try backend.download(b, offset: 0, into: $0) }
            return out
        }
    }
}

/// Seeded host random numbers for self-test inputs (independent of the Engine's Philox kernels, which are
/// themselves under test).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

// MARK: - Report

/// The outcome of one case on one device.
public struct SelfTestResult: Codable, Sendable, Hashable {
    public var family: String
    public var shape: String
    /// Largest relative L2 error over the case's outputs; +inf for NaN, a size mismatch or an error.
    public var relativeError: Double
    public var tolerance: Double
    public var passed: Bool
    /// Why the case could not be compared (a thrown error), if it could not.
    public var error: String?
    /// Time of the device run, milliseconds (program builds included).
    public var milliseconds: Double

    public init(family: String, shape: String, relativeError: Double, tolerance: Double, passed: Bool,
                error: String? = nil, milliseconds: Double = 0) {
        self.family = family; self.shape = shape; self.relativeError = relativeError; self.tolerance = tolerance
        self.passed = passed; self.error = error; self.milliseconds = milliseconds
    }
}

/// Everything `selftest` found, as printed and as written by `--json`.
public struct SelfTestReport: Codable, Sendable, Hashable {
    /// Selector and name of the device under test (`opencl:0`, `cpu-haswell-...`).
    public var device: String
    public var deviceName: String
    /// Selector and name of the reference backend.
    public var reference: String
    public var cases: [SelfTestResult]
    public var passed: Int
    public var failed: Int
    public var seconds: Double
    /// With `--tf32`: the arithmetic the "gemm tf32" cases ran in (`tf32`, `tf32-emulated`), or why they did not run.
    public var tf32: String?

    public var allPassed: Bool { failed == 0 }

    /// JSON with non-finite errors written as the strings `inf` / `nan`.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Reads what `jsonData()` wrote.
    public init(json: Data) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        self = try decoder.decode(SelfTestReport.self, from: json)
    }

    public init(device: String, deviceName: String, reference: String, cases: [SelfTestResult], seconds: Double) {
        self.device = device; self.deviceName = deviceName; self.reference = reference; self.cases = cases
        passed = cases.filter(\.passed).count
        failed = cases.count - passed
        self.seconds = seconds
    }
}

// MARK: - Runner

/// Runs every kernel family on a device and on the CPU reference backend and compares the outputs.
/// `histogan-gpu selftest` is this with `SelfTest.cases`.
public struct SelfTest: Sendable {
    public let device: any Backend
    public let reference: any Backend
    public let cases: [SelfTestCase]

    /// `quick` keeps the cases marked quick (one or two per family).
    public init(device: any Backend, reference: any Backend = CPUBackend(), cases: [SelfTestCase] = SelfTest.cases, quick: Bool = false) {
        self.device = device
        self.reference = reference
        self.cases = quick ? cases.filter(\.quick) : cases
    }

    /// Runs every case, calling `progress` with each result as it completes.
    public func run(progress: (SelfTestResult) -> Void = { _ in }) -> SelfTestReport {
        let clock = ContinuousClock()
        let start = clock.now
        var results: [SelfTestResult] = []
        for c in cases {
            let r = check(c)
            results.append(r)
            progress(r)
        }
        return SelfTestReport(device: device.info.selector, deviceName: device.info.name, reference: reference.info.selector,
                              cases: results, seconds: Self.seconds(clock.now - start))
    }

    /// One case on both backends.
    public func check(_ c: SelfTestCase) -> SelfTestResult {
        let clock = ContinuousClock()
        var result = SelfTestResult(family: c.family, shape: c.shape, relativeError: .infinity, tolerance: c.tolerance,
                                    passed: false, error: nil, milliseconds: 0)
        do {
            let want = try c.run(SelfTestContext(backend: reference))
            let start = clock.now
            let got = try c.run(SelfTestContext(backend: device))
            result.milliseconds = Self.seconds(clock.now - start) * 1000
            guard got.count == want.count else {
                result.error = "\(got.count) outputs, reference has \(want.count)"
                return result
            }
            result.relativeError = zip(got, want).map { Self.relativeL2($0, $1) }.max() ?? 0
            result.passed = result.relativeError <= c.tolerance
        } catch {
            result.error = "\(error)"
        }
        return result
    }

    /// ‖a − b‖₂ / ‖b‖₂ in Double (0 when equal); +inf against an all-zero reference, for a NaN or infinity
    /// anywhere, or for a length mismatch.
    public static func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return .infinity }
        var num = 0.0, den = 0.0
        for i in a.indices {
            let x = Double(a[i]), y = Double(b[i])
            if !x.isFinite || !y.isFinite { return .infinity }
            num += (x - y) * (x - y)
            den += y * y
        }
        if num == 0 { return 0 }
        return den == 0 ? .infinity : (num / den).squareRoot()
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

// MARK: - Device choice

extension SelfTest {
    /// The backend `selftest` checks for a `--device` request: `auto` (or nil) means the first OpenCL device of
    /// any type (a CPU OpenCL driver such as PoCL included, unlike `Device.auto`). Nil when the request
    /// resolves to the CPU backend, which is the reference itself: there is nothing to compare.
    /// `precision` `.tf32` opens it for TF32 GEMMs (where that works; see `Backend.matmulArithmetic`).
    public static func deviceUnderTest(_ request: Device?, precision: MatmulPrecision = .fp32) throws -> (any Backend)? {
        let chosen: Device
        switch request ?? .auto {
        case .auto:
            guard !OpenCLDiscovery.devices().isEmpty else { return nil }
            chosen = .opencl(index: nil)
        case let other: chosen = other
        }
        let backend = try chosen.makeBackend(precision: precision)
        return backend.info.kind == .cpu ? nil : backend
    }
}
