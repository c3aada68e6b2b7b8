import Foundation
import Kernels

// MARK: - What is tuned

/// A kernel whose launch configuration the tuning table chooses.
public enum TunedKernel: String, Codable, Sendable, CaseIterable {
    case conv2dForward = "conv2d_fwd"
    case conv2dGradInput = "conv2d_grad_input"
    case conv2dGradWeight = "conv2d_grad_weight"
    case gemm
}

/// A tile configuration of the conv2d implicit GEMMs (the `RX, RY, VM, CM, VN, CN, TK` build options of
/// conv2d.cl): a work-group of `RX·RY` work-items computes a `TM × TN` tile, `TM = RY·VM·CM` rows and
/// `TN = RX·VN·CN` columns, in K-steps of `TK`.
public struct ConvTile: Hashable, Codable, Sendable, CustomStringConvertible {
    public var rx: Int, ry: Int, vm: Int, cm: Int, vn: Int, cn: Int, tk: Int

    public init(rx: Int, ry: Int, vm: Int, cm: Int, vn: Int, cn: Int, tk: Int) {
        self.rx = rx; self.ry = ry; self.vm = vm; self.cm = cm; self.vn = vn; self.cn = cn; self.tk = tk
    }

    public var threads: Int { rx * ry }
    public var tm: Int { ry * vm * cm }
    public var tn: Int { rx * vn * cn }

    /// `TMxTN/threads`, e.g. `128x128/256`.
    public var description: String { "\(tm)x\(tn)/\(threads)" }

    /// 128×128 tile, 8×8 per work-item: large channel counts.
    public static let large = ConvTile(rx: 16, ry: 16, vm: 4, cm: 2, vn: 4, cn: 2, tk: 16)
    /// 64×64 tile, 4×4 per work-item.
    public static let medium = ConvTile(rx: 16, ry: 16, vm: 4, cm: 1, vn: 4, cn: 1, tk: 16)
    /// 16×128 tile, 1×8 per work-item: few rows (toRGB, depthwise-like groups).
    public static let thin = ConvTile(rx: 16, ry: 16, vm: 1, cm: 1, vn: 4, cn: 2, tk: 16)
    /// 64×16 tile, 4×4 per work-item, 64 work-items: many rows, few columns (4×4 and 4×8 feature maps).
    public static let tall = ConvTile(rx: 4, ry: 16, vm: 4, cm: 1, vn: 4, cn: 1, tk: 16)
    /// 64×256 tile, 4×16 per work-item: 64-channel layers over large feature maps (tuning candidate only).
    public static let wide = ConvTile(rx: 16, ry: 16, vm: 4, cm: 1, vn: 4, cn: 4, tk: 16)
    /// 32×64 tile, 4×4 per work-item, 128 work-items: small layers (tuning candidate only).
    public static let small = ConvTile(rx: 16, ry: 8, vm: 4, cm: 1, vn: 4, cn: 1, tk: 16)

    /// Every tile the tuner tries; each satisfies conv2d.cl's divisibility rules.
    public static let candidates: [ConvTile] = [.large, .medium, .thin, .tall, .wide, .small]

    /// Today's heuristic for a `rows × cols` result matrix per group (used when the table has no entry).
    public static func choose(rows: Int, cols: Int) -> ConvTile {
        if rows <= 16 { return .thin }
        if cols <= 32 { return .tall }
        if rows >= 128 && cols >= 128 { return .large }
        return .medium
    }

    func tiles(_ extent: Int, _ size: Int) -> Int { (extent + size - 1) / size }

    /// Local memory of one staged K-step: `As [TK][TM + 4]` and `Bs [TK][TN + 4]` floats (conv2d.cl's LDA, LDB).
    public var stagedBytes: Int { tk * (tm + 4 + tn + 4) * 4 }

    /// conv2d.cl's warp layout under TF32: `warpsM x warpsN` warps of 32 work-items, each with `mt` m16 by `nt8` n8
    /// tiles of mma.m16n8k8.
    var tf32Warps: (warpsM: Int, warpsN: Int, mt: Int, nt8: Int) {
        let warpsM = tm >= 32 && threads >= 64 ? 2 : 1, warpsN = max(threads / 32 / warpsM, 1)
        return (warpsM, warpsN, tm / 16 / warpsM, tn / 8 / warpsN)
    }

    /// Whether conv2d.cl can run this tile on the tensor cores (its `#error` rule): whole warps, TK a multiple of 8,
    /// the tile split into m16 x n8 tiles per warp, at most 4 x 8 of them.
    public var hasTF32Form: Bool {
        let w = tf32Warps
        return threads % 32 == 0 && tk % 8 == 0 && tm % (16 * w.warpsM) == 0 && tn % (8 * w.warpsN) == 0
            && w.mt >= 1 && w.mt <= 4 && w.nt8 >= 1 && w.nt8 <= 8
    }

    /// Local memory of the TF32 emulation's fragment exchange (conv2d.cl's X: threads × (4·mt + 2·nt8) floats).
    var tf32ExchangeBytes: Int { threads * (4 * tf32Warps.mt + 2 * tf32Warps.nt8) * 4 }

    /// Build options for `s`; `unroll` fully unrolls the K-step (GPUs).
    func options(_ s: Conv2dShape, unroll: Bool) -> String {
        "-D KH=\(s.kernelH) -D KW=\(s.kernelW) -D STRIDE=\(s.stride) -D TK=\(tk) -D RX=\(rx) -D RY=\(ry)"
            + " -D VM=\(vm) -D CM=\(cm) -D VN=\(vn) -D CN=\(cn)" + (unroll ? " -D UNROLL_K" : "")
    }
}

/// A micro-tile of gemm.cl (`-D TM -D TN`): a 16×16 work-group computes a `[16·TM, 16·TN]` block of C.
public struct GemmTile: Hashable, Codable, Sendable, CustomStringConvertible {
    public var tm: Int, tn: Int

    public init(tm: Int, tn: Int) { self.tm = tm; self.tn = tn }

    /// `BMxBN` block of C, e.g. `128x64`.
    public var description: String { "\(16 * tm)x\(16 * tn)" }

    /// Local memory of one staged K slice: `As [16][16·TM + 4]` and `Bs [16][16·TN + 4]` floats.
    public var stagedBytes: Int { 16 * (16 * tm + 4 + 16 * tn + 4) * 4 }

    /// Local memory of the TF32 emulation's fragment exchange (gemm.cl's X: 256 lanes × (2·TM + TN) floats).
    var tf32ExchangeBytes: Int { 256 * (2 * tm + tn) * 4 }

    /// Every tile the tuner tries (TM, TN multiples of 4).
    public static let candidates: [GemmTile] = [.init(tm: 8, tn: 8), .init(tm: 8, tn: 4), .init(tm: 4, tn: 8), .init(tm: 4, tn: 4)]
}

/// The launch configuration of one kernel call: a conv tile (conv kernels) or a GEMM tile, and the number of
/// K splits (conv forward and grad-weight; 1 = no split), and the local-memory staging when it differs from the
/// backend's (`nil`: the backend's `staging`; tables written before staging was tuned have none).
public struct KernelChoice: Hashable, Codable, Sendable, CustomStringConvertible {
    public var conv: ConvTile?
    public var gemm: GemmTile?
    public var splits: Int
    public var staging: TileStaging?
    /// `.winograd` / `.winograd4x4`: the conv runs by Winograd F(2x2, 3x3) / F(4x4, 3x3) (`conv` is nil; `splits`
    /// splits grad-weight's reduction); nil or `.direct`: conv2d.cl with `conv`. Tables written before this field load as
    /// direct.
    public var algorithm: ConvAlgorithm?

    public init(conv: ConvTile, splits: Int = 1, staging: TileStaging? = nil) {
        self.conv = conv; self.gemm = nil; self.splits = splits; self.staging = staging
    }
    public init(gemm: GemmTile, staging: TileStaging? = nil) { self.conv = nil; self.gemm = gemm; self.splits = 1; self.staging = staging }
    /// Winograd F(2x2, 3x3) (`algorithm` `.winograd`) or F(4x4, 3x3) (`.winograd4x4`) with `splits` chunks of
    /// grad-weight's reduction (the forward and grad-input ignore it).
    public init(winogradSplits splits: Int = 1, algorithm: ConvAlgorithm = .winograd) {
        precondition(algorithm.winogradBlock != nil, "a Winograd choice needs a Winograd algorithm")
        self.conv = nil; self.gemm = nil; self.splits = splits; self.staging = nil; self.algorithm = algorithm
    }

    public var description: String {
        if let algorithm, algorithm.winogradBlock != nil {
            return splits > 1 ? "\(algorithm.rawValue) split \(splits)" : algorithm.rawValue
        }
        let tile = conv.map(String.init(describing:)) ?? gemm.map(String.init(describing:)) ?? "?"
        return (splits > 1 ? "\(tile) split \(splits)" : tile) + (staging.map { " \($0.rawValue)-buffered" } ?? "")
    }
}

/// Groups launches that want the same configuration: the per-group result matrix `rows × cols` and the
/// reduction length `depth`, each rounded up to a power of two, plus the kernel size, stride and (for GEMMs)
/// the transposes and batch.
public struct ShapeClass: Hashable, Codable, Sendable, CustomStringConvertible {
    public var kernel: TunedKernel
    public var rows: Int, cols: Int, depth: Int
    public var kernelH: Int, kernelW: Int, stride: Int
    /// Groups (conv) or batch (GEMM), rounded up to a power of two.
    public var groups: Int
    /// GEMM transposes as `NN`, `NT`, `TN`, `TT`; empty for convolutions.
    public var transposes: String

    static func pow2(_ n: Int) -> Int {
        var p = 1
        while p < n { p <<= 1 }
        return p
    }

    /// The class of conv kernel `kernel` (not `.gemm`) on shape `s`.
    public init(_ kernel: TunedKernel, conv s: Conv2dShape) {
        precondition(kernel != .gemm, "ShapeClass(conv:) takes a conv kernel")
        let cg = s.inChannels / s.groups, og = s.outChannels / s.groups, kk = s.kernelH * s.kernelW
        let (r, c, d): (Int, Int, Int)
        switch kernel {
        case .conv2dForward: (r, c, d) = (og, s.batch * s.outHeight * s.outWidth, cg * kk)
        case .conv2dGradInput: (r, c, d) = (cg, s.batch * s.height * s.width, og * kk)
        default: (r, c, d) = (og, cg * kk, s.batch * s.outHeight * s.outWidth)
        }
        self.kernel = kernel
        rows = Self.pow2(r); cols = Self.pow2(c); depth = Self.pow2(d)
        kernelH = s.kernelH; kernelW = s.kernelW; stride = s.stride
        groups = Self.pow2(s.groups); transposes = ""
    }

    /// The class of a GEMM.
    public init(gemm s: GemmShape) {
        kernel = .gemm
        rows = Self.pow2(s.m); cols = Self.pow2(s.n); depth = Self.pow2(s.k)
        kernelH = 1; kernelW = 1; stride = 1
        groups = Self.pow2(s.batch); transposes = (s.transA ? "T" : "N") + (s.transB ? "T" : "N")
    }

    /// `conv2d_fwd 128x64 K1024 3x3/1 g4`.
    public var description: String {
        let geometry = kernel == .gemm ? transposes : "\(kernelH)x\(kernelW)/\(stride)"
        return "\(kernel.rawValue) \(rows)x\(cols) K\(depth) \(geometry) \(kernel == .gemm ? "b" : "g")\(groups)"
    }
}

// MARK: - The table

/// What a table is valid for: one device and driver, and the exact conv2d/gemm kernel sources. A table
/// whose key differs from the running device's is ignored (a driver update or kernel edit invalidates it).
public struct TuningKey: Hashable, Codable, Sendable {
    public var deviceName: String
    public var driverVersion: String
    public var platformName: String
    /// FNV-1a of the kernel sources the table was measured with (conv2d.cl, gemm.cl, winograd.cl, and the helpers
    /// strided_index.cl and tf32.cl).
    public var kernelHash: String

    public init(deviceName: String, driverVersion: String, platformName: String, kernelHash: String) {
        self.deviceName = deviceName; self.driverVersion = driverVersion
        self.platformName = platformName; self.kernelHash = kernelHash
    }

    /// The key of `device` with the kernel sources compiled into this binary.
    public init(device: OpenCLDeviceDescriptor) {
        self.init(deviceName: device.name, driverVersion: device.driverVersion, platformName: device.platformName,
                  kernelHash: Self.currentKernelHash)
    }

    /// Hash of the kernel sources compiled into this binary.
    public static let currentKernelHash: String = {
        let families: [String] = ["strided_index", "tf32", "conv2d", "gemm", "winograd"]
        let text = families.map { (family: String) -> String in hg_kernel_source(family).map { String(cString: $0) } ?? "" }
        return ProgramBinaryCache.hash(text.joined(separator: "\n"))
    }()

    /// File name of the table for this key: `tuning-<hash>.json`.
    public var fileName: String {
        "tuning-" + ProgramBinaryCache.hash("\(deviceName)|\(driverVersion)|\(platformName)|\(kernelHash)") + ".json"
    }
}

/// Chosen launch configurations per shape class for one device (`histogan-gpu tune` writes it, the OpenCL
/// backend reads it at start). Lookup returns nil for a class without an entry: the caller then uses the
/// built-in heuristic, so behaviour without a table is unchanged.
public struct TuningTable: Codable, Sendable, Equatable {
    /// One measured shape class.
    public struct Entry: Codable, Sendable, Equatable {
        public var shapeClass: ShapeClass
        public var choice: KernelChoice
        /// The heuristic's configuration and its time, and the chosen one's, on the representative shape.
        public var heuristic: KernelChoice
        public var heuristicMilliseconds: Double
        public var bestMilliseconds: Double
        /// The shape that was timed (`Conv2dShape`/`GemmShape` description).
        public var shape: String
        /// Candidates whose output differed from the heuristic's (each with the first differing element).
        public var rejected: [String]?

        public init(shapeClass: ShapeClass, choice: KernelChoice, heuristic: KernelChoice,
                    heuristicMilliseconds: Double, bestMilliseconds: Double, shape: String) {
            self.shapeClass = shapeClass; self.choice = choice; self.heuristic = heuristic
            self.heuristicMilliseconds = heuristicMilliseconds; self.bestMilliseconds = bestMilliseconds; self.shape = shape
        }
    }

    /// Version of the file layout; a file with another version is ignored.
    public static let formatVersion = 1

    public var version: Int
    public var key: TuningKey
    public var entries: [Entry]

    public init(key: TuningKey, entries: [Entry]) {
        version = Self.formatVersion; self.key = key; self.entries = entries
    }

    /// The chosen configuration of `shapeClass`, or nil when the table has none.
    public func choice(for shapeClass: ShapeClass) -> KernelChoice? {
        entries.first { $0.shapeClass == shapeClass }?.choice
    }

    /// The entries that override the heuristic, as a dictionary (what the backend looks up per launch). An
    /// entry that kept the heuristic is left out, so that launch takes exactly the heuristic path (grad-input's
    /// heuristic picks a tile per stride phase, which one `KernelChoice` cannot say).
    var lookup: [ShapeClass: KernelChoice] {
        Dictionary(entries.filter { $0.choice != $0.heuristic }.map { ($0.shapeClass, $0.choice) },
                   uniquingKeysWith: { _, last in last })
    }

    /// Path of the table for `key` in `directory`.
    public static func path(for key: TuningKey, in directory: String) -> String { "\(directory)/\(key.fileName)" }

    /// The table stored for `key` in `directory`; nil when there is no file, or when the file is for another key
    /// or format version (stale). Throws `TuningError.corruptTable` naming the file when it cannot be decoded.
    public static func load(for key: TuningKey, in directory: String) throws -> TuningTable? {
        let path = path(for: key, in: directory)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let table: TuningTable
        do { table = try JSONDecoder().decode(TuningTable.self, from: data) } catch {
            throw TuningError.corruptTable(path: path, detail: String(describing: error))
        }
        guard table.version == formatVersion, table.key == key else { return nil }
        for entry in table.entries {
            guard entry.choice.splits >= 1, entry.choice.splits <= 64,
                  (entry.shapeClass.kernel == .gemm) == (entry.choice.gemm != nil),
                  (entry.shapeClass.kernel == .gemm) != (entry.choice.conv != nil) else {
                throw TuningError.corruptTable(path: path, detail: "invalid entry for \(entry.shapeClass): \(entry.choice)")
            }
            if let tile = entry.choice.conv, !ConvTile.candidates.contains(tile) {
                throw TuningError.corruptTable(path: path, detail: "unknown conv tile \(tile) for \(entry.shapeClass)")
            }
            if let tile = entry.choice.gemm, !GemmTile.candidates.contains(tile) {
                throw TuningError.corruptTable(path: path, detail: "unknown gemm tile \(tile) for \(entry.shapeClass)")
            }
        }
        return table
    }

    /// Writes the table as JSON to `directory` (created if needed), atomically; returns the path.
    @discardableResult
    public func save(in directory: String) throws -> String {
        let path = Self.path(for: key, in: directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(self), to: path)
        } catch {
            throw TuningError.writeFailed(path: path, detail: String(describing: error))
        }
        return path
    }
}

/// Where the OpenCL backend looks for its tuning table, and whether it uses one.
public struct TuningSettings: Sendable, Equatable {
    /// Directory of the tables (the kernel-binary cache directory), nil when there is none.
    public var directory: String?
    /// False when `HISTOGAN_TUNING=off`: every launch uses the heuristics.
    public var enabled: Bool

    public init(directory: String?, enabled: Bool = true) { self.directory = directory; self.enabled = enabled }

    /// Name of the environment variable that turns the table off (`off`).
    public static let environmentVariable = "HISTOGAN_TUNING"

    /// The kernel-binary cache directory (`HISTOGAN_KERNEL_CACHE`, `XDG_CACHE_HOME`, `HOME`); disabled by
    /// `HISTOGAN_TUNING=off` (or `0`, `false`).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> TuningSettings {
        let flag = environment[environmentVariable]?.lowercased() ?? ""
        let enabled = !["off", "0", "false", "no"].contains(flag)
        return TuningSettings(directory: ProgramBinaryCache(environment: environment).directory, enabled: enabled)
    }

    /// No table at all (the heuristics).
    public static let off = TuningSettings(directory: nil, enabled: false)
}

/// Failures of reading, writing or measuring a tuning table.
public enum TuningError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The table file exists but cannot be decoded or holds an invalid entry.
    case corruptTable(path: String, detail: String)
    /// The table could not be written.
    case writeFailed(path: String, detail: String)
    /// Tuning needs an OpenCL device; `detail` says what was given.
    case notOpenCL(String)
    /// No candidate (not even the heuristic's) produced a valid result for a shape class.
    case noValidCandidate(shapeClass: String, detail: String)

    public var description: String {
        switch self {
        case let .corruptTable(path, detail): return "tuning table \(path) is corrupt (\(detail)); delete it or re-run `histogan-gpu tune`"
        case let .writeFailed(path, detail): return "cannot write tuning table \(path): \(detail)"
        case let .notOpenCL(detail): return "tuning needs an OpenCL device: \(detail)"
        case let .noValidCandidate(shapeClass, detail): return "tuning \(shapeClass): no valid candidate (\(detail))"
        }
    }
}
