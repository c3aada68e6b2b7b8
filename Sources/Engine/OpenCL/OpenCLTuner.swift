import Foundation

/// Measures the candidate configurations of conv and GEMM launches on one OpenCL backend and builds a
/// `TuningTable` from the fastest valid one per shape class.
///
/// For each shape class (its heaviest recorded shape stands for it):
/// 1. run the heuristic configuration on seeded inputs: its output is the reference;
/// 2. for every candidate (`candidates(for:)`): poison the output with NaN, run it once (this also builds
///    its program), reject it when any element differs from the reference by more than
///    `atol + rtol·|ref|` (`rtol` 1e-4, `atol` 1e-5 · max|ref|) or is not finite;
/// 3. time the heuristic and each valid candidate: `warmRuns` untimed runs, then the minimum wall time of
///    `timedRuns` runs, each ended by `synchronize()`;
/// 4. keep the fastest; the heuristic stays unless a candidate beats it by `requiredGain` (timing noise);
/// 5. try the winner with the other local-memory staging (`TileStaging.other` of the backend's), checked the
///    same way; it replaces the winner only if it beats it by `requiredGain` too.
public struct OpenCLTuner {
    /// A candidate must take at most this fraction of the heuristic's time to replace it.
    public static let requiredGain = 0.97

    public let backend: OpenCLBackend
    public var warmRuns: Int
    public var timedRuns: Int

    public init(backend: OpenCLBackend, warmRuns: Int = 1, timedRuns: Int = 3) {
        self.backend = backend; self.warmRuns = max(0, warmRuns); self.timedRuns = max(1, timedRuns)
    }

    /// The configurations tried for `problem`: every conv tile with its heuristic split count (`defaultKSplits`;
    /// forward and grad-input also with 2/4/8 K splits of the heuristic and tall tiles when the output is at most
    /// 8×8 and K ≥ 1024) and Winograd F(2x2, 3x3) and F(4x4, 3x3) where they apply, F(4x4, 2x2) over a stride-2 conv's
    /// phases where that applies (grad-weight with its heuristic, half and twice the chunks of its reduction), or every
    /// GEMM micro-tile.
    public func candidates(for problem: TuningProblem) -> [KernelChoice] {
        switch problem {
        case .gemm: return GemmTile.candidates.map { KernelChoice(gemm: $0) }
        case let .conv(kernel, s):
            var list = ConvTile.candidates.map { Self.withDefaultSplits($0, kernel, s, computeUnits: backend.info.computeUnits) }
            let cg = s.inChannels / s.groups, og = s.outChannels / s.groups, kk = s.kernelH * s.kernelW
            // The small-output layers: the output (forward) or the input (grad-input) has at most 8×8 pixels.
            let small: Bool
            switch kernel {
            case .conv2dForward: small = s.outHeight <= 8 && s.outWidth <= 8 && cg * kk >= 1024
            case .conv2dGradInput: small = s.height <= 8 && s.width <= 8 && og * kk >= 1024
            default: small = false
            }
            let winograd: [ConvAlgorithm] = ConvAlgorithm.winogradApplies(s) ? [.winograd, .winograd4x4]
                : ConvAlgorithm.phasedWinogradApplies(s) ? [.winograd4x4] : []
            if !winograd.isEmpty {
                // Both block sizes (stride 2: F(4x4, 2x2) over the phases); grad-weight also with half and twice the
                // heuristic's chunks of its reduction.
                for algorithm in winograd {
                    let choice = Self.winogradChoice(kernel, s, algorithm, computeUnits: backend.info.computeUnits)
                    let splits = kernel == .conv2dGradWeight ? [choice.splits, max(1, choice.splits / 2), 2 * choice.splits] : [1]
                    for n in splits where !list.contains(KernelChoice(winogradSplits: n, algorithm: algorithm)) {
                        list.append(KernelChoice(winogradSplits: n, algorithm: algorithm))
                    }
                }
            }
            if small {
                let (rows, cols, _) = OpenCLBackend.convGEMM(kernel, s)
                let heuristic = heuristic(for: problem).conv ?? ConvTile.choose(rows: rows, cols: cols)
                for tile in Set([heuristic, .tall]).sorted(by: { $0.description < $1.description }) {
                    for splits in [2, 4, 8] where !list.contains(KernelChoice(conv: tile, splits: splits)) {
                        list.append(KernelChoice(conv: tile, splits: splits))
                    }
                }
            }
            return list
        }
    }

    /// The heuristic's configuration for `problem` (what runs without a table; grad-input's tile is its first
    /// phase's).
    public func heuristic(for problem: TuningProblem) -> KernelChoice {
        switch problem {
        case let .gemm(s): return KernelChoice(gemm: OpenCLBackend.gemmTile(s, computeUnits: backend.info.computeUnits))
        case let .conv(kernel, s):
            let algorithm = backend.algorithm(for: s, nil)
            if algorithm.winogradBlock != nil {
                return Self.winogradChoice(kernel, s, algorithm, computeUnits: backend.info.computeUnits)
            }
            let (rows, cols, _) = OpenCLBackend.convGEMM(kernel, s)
            return Self.withDefaultSplits(ConvTile.choose(rows: rows, cols: cols), kernel, s, computeUnits: backend.info.computeUnits)
        }
    }

    /// `tile` with the split count the backend picks for it without a table (`OpenCLBackend.defaultKSplits`).
    static func withDefaultSplits(_ tile: ConvTile, _ kernel: TunedKernel, _ s: Conv2dShape, computeUnits: Int) -> KernelChoice {
        let (rows, cols, depth) = OpenCLBackend.convGEMM(kernel, s)
        let tiles = tile.tiles(cols, tile.tn) * tile.tiles(rows, tile.tm) * s.groups
        let requested = OpenCLBackend.defaultKSplits(tiles: tiles, depth: depth, tk: tile.tk, computeUnits: computeUnits)
        return KernelChoice(conv: tile, splits: OpenCLBackend.kSplits(requested: requested, depth: depth, tk: tile.tk).splits)
    }

    /// Winograd by `algorithm` with the split count the backend picks for grad-weight's reduction without a table.
    static func winogradChoice(_ kernel: TunedKernel, _ s: Conv2dShape, _ algorithm: ConvAlgorithm, computeUnits: Int) -> KernelChoice {
        let block = algorithm.winogradBlock ?? 2
        let splits = kernel == .conv2dGradWeight
            ? OpenCLBackend.winogradGradWeightSplits(s, block: block, computeUnits: computeUnits) : 1
        return KernelChoice(winogradSplits: splits, algorithm: algorithm)
    }

    /// The heaviest problem of each shape class in `problems`, in first-seen order of the classes.
    public static func representatives(_ problems: [TuningProblem]) -> [TuningProblem] {
        var order: [ShapeClass] = []
        var best: [ShapeClass: TuningProblem] = [:]
        for p in problems {
            let normalized = p.normalized
            let c = normalized.shapeClass
            if let current = best[c] {
                if normalized.flops > current.flops { best[c] = normalized }
            } else {
                order.append(c); best[c] = normalized
            }
        }
        return order.map { best[$0]! }
    }

    /// Tunes every shape class of `problems`; `progress` receives one line per class as it finishes.
    /// Returns the table for this backend's device (not yet saved).
    public func tune(_ problems: [TuningProblem], progress: (String) -> Void = { _ in }) throws -> TuningTable {
        let list = Self.representatives(problems)
        var entries: [TuningTable.Entry] = []
        for (index, problem) in list.enumerated() {
            let entry = try tune(problem)
            entries.append(entry)
            let rejected = entry.rejected.map { "; REJECTED (output differs): " + $0.joined(separator: "; ") } ?? ""
            progress(String(format: "[%d/%d] %@  %@: heuristic %@ %.3f ms, best %@ %.3f ms%@",
                            index + 1, list.count, entry.shapeClass.description, problem.description,
                            entry.heuristic.description, entry.heuristicMilliseconds, entry.choice.description,
                            entry.bestMilliseconds, rejected))
        }
        return TuningTable(key: TuningKey(device: backend.device), entries: entries)
    }

    /// Tunes one problem: the table entry for its shape class.
    public func tune(_ problem: TuningProblem) throws -> TuningTable.Entry {
        let run = try Runner(backend: backend, problem: problem)
        let heuristic = heuristic(for: problem)
        try run.launch(nil)
        let reference = try run.output()
        let heuristicTime = try time(run, nil)
        var best = (choice: heuristic, ms: heuristicTime)
        var rejected: [String] = []
        /// `candidate`'s time, or nil (recorded in `rejected`) when its output, poisoned first, differs from the reference.
        func measure(_ candidate: KernelChoice) throws -> Double? {
            try run.poisonOutput()
            try run.launch(candidate)
            if let problemText = Self.mismatch(try run.output(), reference) {
                rejected.append("\(candidate): \(problemText)")
                return nil
            }
            return try time(run, candidate)
        }
        for candidate in candidates(for: problem) where candidate != heuristic {
            if let ms = try measure(candidate), ms < best.ms, ms < Self.requiredGain * heuristicTime { best = (candidate, ms) }
        }
        // The winner with the other staging, unless two of its tiles do not fit (then both build the same kernel) or it
        // is Winograd (whose GEMMs follow the table's GEMM entries).
        var restaged = best.choice
        restaged.staging = backend.staging.other
        let tileBytes = best.choice.conv?.stagedBytes ?? best.choice.gemm?.stagedBytes ?? 0
        if best.choice.algorithm?.winogradBlock == nil, 2 * tileBytes <= backend.device.localMemoryBytes, let ms = try measure(restaged),
           ms < Self.requiredGain * best.ms {
            best = (restaged, ms)
        }
        guard reference.allSatisfy(\.isFinite) else {
            throw TuningError.noValidCandidate(shapeClass: problem.shapeClass.description, detail: "the heuristic's output is not finite")
        }
        var entry = TuningTable.Entry(shapeClass: problem.shapeClass, choice: best.choice, heuristic: heuristic,
                                      heuristicMilliseconds: heuristicTime, bestMilliseconds: best.ms, shape: problem.description)
        entry.rejected = rejected.isEmpty ? nil : rejected
        return entry
    }

    /// Minimum wall time in milliseconds of `timedRuns` synchronised runs after `warmRuns`.
    func time(_ run: Runner, _ choice: KernelChoice?) throws -> Double {
        for _ in 0..<warmRuns { try run.launch(choice) }
        try backend.synchronize()
        var best = Double.infinity
        for _ in 0..<timedRuns {
            let start = DispatchTime.now().uptimeNanoseconds
            try run.launch(choice)
            try backend.synchronize()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6)
        }
        return best
    }

    /// Nil when `got` matches `reference` within float tolerance, else what differs.
    public static func mismatch(_ got: [Float], _ reference: [Float]) -> String? {
        guard got.count == reference.count else { return "\(got.count) values, expected \(reference.count)" }
        let scale = reference.reduce(Float(0)) { max($0, abs($1)) }
        for i in got.indices {
            let tolerance = 1e-5 * scale + 1e-4 * abs(reference[i])
            if !got[i].isFinite || abs(got[i] - reference[i]) > tolerance {
                return "element \(i): \(got[i]) vs \(reference[i])"
            }
        }
        return nil
    }

    /// Seeded inputs and the output buffer of one problem, and its launch with a given configuration.
    struct Runner {
        let backend: OpenCLBackend
        let problem: TuningProblem
        let inputs: [any Buffer]
        let out: any Buffer

        init(backend: OpenCLBackend, problem: TuningProblem) throws {
            self.backend = backend; self.problem = problem
            let counts: [Int], outCount: Int
            switch problem {
            case let .conv(.conv2dForward, s): (counts, outCount) = ([s.inputCount, s.weightCount], s.outputCount)
            case let .conv(.conv2dGradInput, s): (counts, outCount) = ([s.outputCount, s.weightCount], s.inputCount)
            case let .conv(_, s): (counts, outCount) = ([s.inputCount, s.outputCount], s.weightCount)
            case let .gemm(s): (counts, outCount) = ([s.batch * s.m * s.k, s.batch * s.k * s.n], s.batch * s.m * s.n)
            }
            var state: UInt64 = 0x9e3779b97f4a7c15
            inputs = try counts.map { count in
                let values = (0..<count).map { _ -> Float in
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 23)
                }
                let buffer = try backend.allocate(count)
                try values.withUnsafeBufferPointer { try backend.upload($0, to: buffer, offset: 0) }
                return buffer
            }
            out = try backend.allocate(outCount)
        }

        func launch(_ choice: KernelChoice?) throws {
            switch problem {
            case let .conv(.conv2dForward, s):
                try backend.conv2d(s, input: inputs[0], weight: inputs[1], output: out, choice: choice)
            case let .conv(.conv2dGradInput, s):
                try backend.conv2dGradInput(s, gradOutput: inputs[0], weight: inputs[1], gradInput: out, choice: choice)
            case let .conv(_, s):
                try backend.conv2dGradWeight(s, input: inputs[0], gradOutput: inputs[1], gradWeight: out, choice: choice)
            case let .gemm(s):
                try backend.gemm(s, a: inputs[0], b: inputs[1], c: out, tile: choice?.gemm, staging: choice?.staging)
            }
        }

        func poisonOutput() throws {
            let nan = [Float](repeating: .nan, count: out.count)
            try nan.withUnsafeBufferPointer { try backend.upload($0, to: out, offset: 0) }
        }

        func output() throws -> [Float] {
            try backend.synchronize()
            var values = [Float](repeating: 0, count: out.count)
            try values.withUnsafeMutableBufferPointer { try backend.download(out, offset: 0, into: $0) }
            return values
        }
    }
}

extension TuningProblem {
    /// The problem with contiguous, unshifted GEMM operands, alpha 1 and beta 0 (what the tuner replays; the
    /// shape class is unchanged).
    var normalized: TuningProblem {
        guard case let .gemm(s) = self else { return self }
        return .gemm(GemmShape(m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB, batch: s.batch))
    }
}
