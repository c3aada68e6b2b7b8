import Foundation

/// How the tiled kernels (gemm.cl, conv2d.cl) stage their operand tiles in local memory.
///
/// `.double` keeps two tiles: the next K-step's tile, prefetched into registers during the multiply, is stored
/// into the second buffer right after it, so each K-step needs one barrier instead of two, for twice the local
/// memory. A kernel whose two buffers would not fit the device's local memory builds single-buffered.
/// `.single` is the fallback and the side-by-side comparison (`HISTOGAN_TILE_STAGING=single`).
/// Both compute the same sums in the same order: the results are the same bits.
public enum TileStaging: String, Codable, Sendable, CaseIterable {
    case single, double

    /// The other scheme (what the tuner tries against the backend's default).
    public var other: TileStaging { self == .single ? .double : .single }

    /// `HISTOGAN_TILE_STAGING` (`single` or `double`), else `.double`; any other value is an error naming it.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TileStaging {
        guard let text = environment["HISTOGAN_TILE_STAGING"] else { return .double }
        guard let staging = TileStaging(rawValue: text.lowercased()) else {
            throw EngineError.invalidSetting(variable: "HISTOGAN_TILE_STAGING", value: text, expected: "single or double")
        }
        return staging
    }

    /// The build option for a kernel whose one staged tile takes `bytes` of local memory on a device with
    /// `localMemory` bytes: ` -D DOUBLE_BUFFER` when staging is double and two tiles fit, else empty.
    public func option(tileBytes bytes: Int, localMemory: Int) -> String {
        self == .double && 2 * bytes <= localMemory ? " -D DOUBLE_BUFFER" : ""
    }
}
