import Foundation

/// One conv or GEMM launch as the tuner replays it: the kernel and its shape.
public enum TuningProblem: Hashable, Sendable, CustomStringConvertible {
    case conv(TunedKernel, Conv2dShape)
    case gemm(GemmShape)

    /// The shape class whose table entry this launch uses.
    public var shapeClass: ShapeClass {
        switch self {
        case let .conv(kernel, s): return ShapeClass(kernel, conv: s)
        case let .gemm(s): return ShapeClass(gemm: s)
        }
    }

    /// Floating-point operations of one launch (to pick the heaviest shape of a class).
    public var flops: Double {
        switch self {
        case let .conv(_, s): return s.flops
        case let .gemm(s): return s.flops
        }
    }

    /// `[N,C,H,W] * [O,C/G,kh,kw] s2 p1 g4` or `gemm 64x128x256 NT b4`.
    public var description: String {
        switch self {
        case let .conv(_, s):
            return "[\(s.batch),\(s.inChannels),\(s.height),\(s.width)] * [\(s.outChannels),\(s.inChannels / s.groups),\(s.kernelH),\(s.kernelW)]"
                + " s\(s.stride) p\(s.padH) g\(s.groups)"
        case let .gemm(s):
            return "gemm \(s.m)x\(s.n)x\(s.k) \(s.transA ? "T" : "N")\(s.transB ? "T" : "N") b\(s.batch)"
        }
    }
}

/// The tuning state one OpenCL backend owns: the table's choices (looked up per launch) and, while
/// `histogan-gpu tune` records a training step, the launched problems.
final class TuningState: @unchecked Sendable {
    private let lock = NSLock()
    private var table: TuningTable?
    private var choices: [ShapeClass: KernelChoice]
    private var recorded: [TuningProblem]?

    init(table: TuningTable?) {
        self.table = table
        choices = table?.lookup ?? [:]
    }

    var current: TuningTable? { lock.withLock { table } }

    func replace(_ table: TuningTable?) {
        lock.withLock { self.table = table; choices = table?.lookup ?? [:] }
    }

    func choice(_ shapeClass: () -> ShapeClass) -> KernelChoice? {
        lock.withLock { choices.isEmpty ? nil : choices[shapeClass()] }
    }

    func record(_ problem: @autoclosure () -> TuningProblem) {
        lock.withLock { if recorded != nil { recorded!.append(problem()) } }
    }

    func startRecording() { lock.withLock { recorded = [] } }

    func stopRecording() -> [TuningProblem] {
        lock.withLock {
            defer { recorded = nil }
            return recorded ?? []
        }
    }
}

extension OpenCLBackend {
    /// The tuning table this backend uses (nil: the built-in heuristics everywhere).
    public var tuningTable: TuningTable? { tuning.current }

    /// Replaces the tuning table used by later launches (nil turns it off).
    public func useTuningTable(_ table: TuningTable?) { tuning.replace(table) }

    /// Runs `body` and returns, with its result, every conv and GEMM launch it made through the `Backend`
    /// methods, in order (the shapes `histogan-gpu tune` measures).
    public func recordingTuningProblems<T>(_ body: () throws -> T) throws -> (result: T, problems: [TuningProblem]) {
        tuning.startRecording()
        let result: T
        do { result = try body() } catch {
            _ = tuning.stopRecording()
            throw error
        }
        return (result, tuning.stopRecording())
    }

    /// The table's configuration for `problem`, or nil when it has none (then the heuristic applies).
    func tunedChoice(_ problem: TuningProblem) -> KernelChoice? {
        tuning.record(problem)
        return tuning.choice { problem.shapeClass }
    }
}
