import Foundation

/// How a convolution is computed.
/// - `direct`: conv2d.cl's implicit GEMM (every shape).
/// - `winograd`: F(2x2, 3x3) (winograd.cl's transforms around a batched gemm.cl): 2.25x fewer multiply-adds, for
///   3x3 convolutions with stride 1, padding 1 and one group only (`ConvAlgorithm.winogradApplies`). Its rounding
///   differs from the direct sums (relative error about 1e-6 of the output's scale, see WinogradTests).
/// - `winograd4x4`: F(4x4, 3x3) for the same shapes: 4x fewer multiply-adds (36 GEMMs over the 4x4 output blocks
///   instead of 16 over the 2x2 ones), and transformed operands 2.25x the activations instead of 4x; its larger
///   transform coefficients (up to 8) round more (relative error a few 1e-6, see WinogradTests). On OpenCL also the 3x3
///   stride-2 convolutions (`phasedWinogradApplies`: the discriminator's down-sampling convs, the generator's transposed
///   up-sampling ones): their four stride phases as one stride-1 2x2 convolution over 4x the channels at half the
///   resolution, by F(4x4, 2x2): 25 GEMMs over the 4x4 output blocks, 1.44x fewer multiply-adds than direct.
public enum ConvAlgorithm: String, Codable, Sendable, CaseIterable {
    case direct, winograd, winograd4x4

    /// The side m of the output blocks of Winograd F(m x m, 3x3): 2 or 4; nil for `direct`.
    public var winogradBlock: Int? {
        switch self {
        case .direct: return nil
        case .winograd: return 2
        case .winograd4x4: return 4
        }
    }

    /// Whether Winograd F(2x2, 3x3) and F(4x4, 3x3) can compute `s`: 3x3, stride 1, padding 1 on both axes, groups 1.
    public static func winogradApplies(_ s: Conv2dShape) -> Bool {
        s.kernelH == 3 && s.kernelW == 3 && s.stride == 1 && s.padH == 1 && s.padW == 1 && s.groups == 1
    }

    /// Whether the stride phases of `s` can run by Winograd F(4x4, 2x2) (OpenCL's `winograd4x4`): 3x3, stride 2 (any
    /// padding), groups 1.
    public static func phasedWinogradApplies(_ s: Conv2dShape) -> Bool {
        s.kernelH == 3 && s.kernelW == 3 && s.stride == 2 && s.groups == 1
    }
}

/// Which algorithm runs a convolution (on OpenCL: one that the tuning table has no entry for;
/// `HISTOGAN_CONV_ALGORITHM`).
/// - `auto`: Winograd where it applies and the layer is wide and large enough to pay for its transforms
///   (`preferred`; the width depends on the backend), F(4x4, 3x3) from the backend's `min4x4Pixels` on and
///   F(2x2, 3x3) below, else direct;
/// - `direct`, `winograd` (F(2x2, 3x3)), `winograd4x4` (F(4x4, 3x3)): that algorithm wherever it applies.
public enum ConvAlgorithmPolicy: String, Sendable, CaseIterable {
    case auto, direct, winograd, winograd4x4

    /// `HISTOGAN_CONV_ALGORITHM` (`auto`, `direct`, `winograd` or `winograd4x4`), else `.auto`; any other value is an
    /// error naming it.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ConvAlgorithmPolicy {
        guard let text = environment["HISTOGAN_CONV_ALGORITHM"] else { return .auto }
        guard let policy = ConvAlgorithmPolicy(rawValue: text.lowercased()) else {
            throw EngineError.invalidSetting(variable: "HISTOGAN_CONV_ALGORITHM", value: text, expected: "auto, direct, winograd or winograd4x4")
        }
        return policy
    }

    /// The algorithm this policy picks for `s` (a forward shape; grad-input and grad-weight of it follow the same) on a
    /// backend whose Winograd pays from `minChannels` channels, and whose F(4x4, 3x3) pays over F(2x2, 3x3) from
    /// `min4x4Pixels` pixels per image (nil: `auto` never picks it; both backends use 32x32, OpenCL none with TF32
    /// products). With `phased` (the backend runs stride-2 convs by their phases: OpenCL) a `phasedWinogradApplies`
    /// shape runs by `winograd4x4` when asked for, and under `auto` where `preferredPhased` and F(4x4) is allowed;
    /// `winograd` leaves it direct (F(2x2, 2x2) over the phases saves nothing).
    public func algorithm(for s: Conv2dShape, minChannels: Int, min4x4Pixels: Int? = nil, phased: Bool = false) -> ConvAlgorithm {
        if phased && ConvAlgorithm.phasedWinogradApplies(s) {
            switch self {
            case .direct, .winograd: return .direct
            case .winograd4x4: return .winograd4x4
            case .auto: return min4x4Pixels != nil && Self.preferredPhased(s, minChannels: minChannels) ? .winograd4x4 : .direct
            }
        }
        guard ConvAlgorithm.winogradApplies(s) else { return .direct }
        switch self {
        case .direct: return .direct
        case .winograd: return .winograd
        case .winograd4x4: return .winograd4x4
        case .auto:
            guard Self.preferred(s, minChannels: minChannels) else { return .direct }
            if let min4x4Pixels, s.height * s.width >= min4x4Pixels { return .winograd4x4 }
            return .winograd
        }
    }

    /// `auto`'s rule: at least `minChannels` input and output channels and at least 16x16 pixels. Narrower or smaller
    /// layers leave the transforms (memory passes over 4x the activations) too little GEMM work to hide behind. The
    /// OpenCL backend uses 64 (PoCL: the 64-channel layers' convs 1.4x faster), the CPU backend 256 (its direct
    /// kernels are closer to its GEMM's speed: 1.5x at 256 channels, about 1.1x at 128, slower at 64).
    public static func preferred(_ s: Conv2dShape, minChannels: Int) -> Bool {
        min(s.inChannels, s.outChannels) >= minChannels && s.height * s.width >= 256
    }

    /// `auto`'s rule for a stride-2 conv's phases: at least `minChannels` input and output channels and an output of
    /// at least `phasedMinPixels`.
    public static func preferredPhased(_ s: Conv2dShape, minChannels: Int) -> Bool {
        min(s.inChannels, s.outChannels) >= minChannels && s.outHeight * s.outWidth >= phasedMinPixels
    }

    /// The smallest output (pixels per image) whose stride-2 conv `auto` runs by its phases: 32x32. PoCL, 64 to 512
    /// channels, batch 4: from 32x32 the phases won all three kernels (1.04x to 3.6x); at 16x16 the forward lost (0.6x to
    /// 0.7x: the transformed filter, 100·O·C floats, is rebuilt per call and the GEMMs have few columns); at 8x8 all three
    /// lost.
    public static let phasedMinPixels = 32 * 32
}

/// The m x m output blocks Winograd F(m x m, r x r) computes a convolution in (both backends; m = `block`, r = `taps`):
/// `tilesH` × `tilesW` per sample of the tiled grid, `count` = P over the batch (tile p = (n·tilesH + ti)·tilesW + tj),
/// and `padded` = P rounded up to a multiple of 4 (the transforms' column count, so the GEMM's float4 loads apply; the
/// extra columns are zeros). Each block's transform is α x α with α = m + r − 1, so `positions` = α² GEMMs.
struct WinogradTiles {
    let block: Int, taps: Int, tilesH: Int, tilesW: Int, count: Int, padded: Int

    /// F(m x m, 3x3) of a `winogradApplies` shape: its H x W pixels (m = 2 or 4).
    init(_ s: Conv2dShape, block: Int) {
        precondition(block == 2 || block == 4, "Winograd F(m x m, 3x3) is built for m = 2 and 4")
        self.init(batch: s.batch, height: s.height, width: s.width, block: block, taps: 3)
    }

    /// F(`block` x `block`, `taps` x `taps`) over a grid of `batch` × `height` × `width` outputs.
    init(batch: Int, height: Int, width: Int, block: Int, taps: Int) {
        self.block = block
        self.taps = taps
        tilesH = (height + block - 1) / block
        tilesW = (width + block - 1) / block
        count = batch * tilesH * tilesW
        padded = Self.roundUp4(count)
    }

    /// α = m + r − 1, the side of the transformed tiles.
    var alpha: Int { block + taps - 1 }
    /// α², the number of transform positions ξ (one GEMM each).
    var positions: Int { alpha * alpha }

    /// `n` rounded up to a multiple of 4.
    static func roundUp4(_ n: Int) -> Int { (n + 3) / 4 * 4 }
}
