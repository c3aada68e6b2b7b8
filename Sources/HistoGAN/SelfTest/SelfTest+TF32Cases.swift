import Engine
import Foundation

// `selftest --tf32`: the TF32 GEMMs and direct convolutions on a backend opened with `--tf32`, against the CPU's fp32
// products of the same operands rounded to TF32 beforehand (TF32 products are exact in fp32, so only the sums differ: a misplaced fragment
// is off by O(1), a correct kernel by about 1e-7 on PoCL's emulation; the tolerance, 5e-5, leaves room for tensor
// cores that truncate while they accumulate). Two cases more run Winograd convolutions (F(2x2, 3x3) and F(4x4, 3x3)),
// whose transformed operands the kernels round themselves: they check TF32's accuracy on the training path.

extension SelfTest {
    /// Every GEMM micro-tile with ragged edges (scalar and float4 loads, every transpose, a batch with alpha and beta),
    /// the direct conv kernels on four tiles and on a strided grouped shape, and two Winograd convolutions.
    public static let tf32Cases: [SelfTestCase] =
        GemmTile.candidates.flatMap { tile in
            [tf32Gemm(GemmShape(m: 37, n: 53, k: 29), tile: tile),
             tf32Gemm(GemmShape(m: 132, n: 68, k: 40, transA: true, transB: true), tile: tile)]
        }
        + [tf32Gemm(GemmShape(m: 33, n: 47, k: 70, transB: true, batch: 3, alpha: 0.5, beta: 0.75), tile: nil),
           tf32Gemm(GemmShape(m: 19, n: 36, k: 300, transA: true), tile: nil)]
        + [ConvTile.large, .thin, .tall, .wide].flatMap { tunedCases(tf32ConvShape, KernelChoice(conv: $0), quick: false, tf32: true) }
        + tunedCases(Conv2dShape(batch: 2, inChannels: 8, outChannels: 12, height: 9, width: 11, kernelH: 3, kernelW: 3,
                                 stride: 2, padH: 1, padW: 1, groups: 2), nil, quick: true, tf32: true)
        + tf32Winograd

    /// Ragged rows, columns and K on every tile (K = 108, 63 pixels).
    static let tf32ConvShape = Conv2dShape(batch: 2, inChannels: 12, outChannels: 20, height: 9, width: 7,
                                           kernelH: 3, kernelW: 3, padH: 1, padW: 1)


    /// `s` on `tile` (nil: the backend's choice), operands rounded to TF32 on the host.
    static func tf32Gemm(_ s: GemmShape, tile: GemmTile?) -> SelfTestCase {
        let t = (s.transA ? "T" : "N") + (s.transB ? "T" : "N")
        var desc = "\(s.m)x\(s.n)x\(s.k) \(t)" + (tile.map { " tile \($0)" } ?? "")
        if s.batch > 1 { desc += " batch \(s.batch)" }
        if s.alpha != 1 || s.beta != 0 { desc += " α \(s.alpha) β \(s.beta)" }
        if OpenCLBackend.gemmVectorLoads(s) { desc += " float4" }
        return SelfTestCase(family: "gemm tf32", shape: desc, tolerance: 5e-5, quick: tile == nil) { ctx in
            let a = try ctx.inputTF32(s.batch * s.m * s.k, seed: 1), b = try ctx.inputTF32(s.batch * s.k * s.n, seed: 2)
            let c = s.beta != 0 ? try ctx.input(s.batch * s.m * s.n, seed: 3) : try ctx.poisoned(s.batch * s.m * s.n)
            if let tile, let cl = ctx.backend as? OpenCLBackend {
                try cl.gemm(s, a: a, b: b, c: c, tile: tile)
            } else {
                try ctx.backend.gemm(s, a: a, b: b, c: c)
            }
            return try ctx.read(c)
        }
    }

    /// 64-channel 3x3 convolutions against the CPU's fp32, TF32's relative error, at 16x16 and at 32x32: both by
    /// Winograd F(2x2, 3x3) on OpenCL (with TF32 products `auto` never picks F(4x4, 3x3), whose transforms magnify the
    /// operands' rounding: 3.2e-3 at 32x32).
    static let tf32Winograd = [tf32Winograd(size: 16), tf32Winograd(size: 32)]

    /// A 64-channel `size`x`size` 3x3 convolution by the backend's choice (OpenCL's `auto`: Winograd F(2x2, 3x3)).
    static func tf32Winograd(size: Int) -> SelfTestCase {
        let s = Conv2dShape(batch: 2, inChannels: 64, outChannels: 64, height: size, width: size, kernelH: 3, kernelW: 3,
                            padH: 1, padW: 1)
        return SelfTestCase(family: "conv2d fwd winograd tf32", shape: "[2,64,\(size),\(size)] * [64,64,3,3] p1", tolerance: 3e-3) { ctx in
            let x = try ctx.input(s.inputCount, seed: 4), w = try ctx.input(s.weightCount, seed: 5)
            let y = try ctx.poisoned(s.outputCount)
            try ctx.backend.conv2d(s, input: x, weight: w, output: y)
            return try ctx.read(y)
        }
    }
}

extension SelfTestContext {
    /// `input(count, seed:)` with every value rounded to TF32 (exactly representable for the tensor cores).
    public func inputTF32(_ count: Int, seed: UInt64) throws -> any Buffer {
        try buffer(Self.values(count, seed: seed, in: -1...1).map(\.roundedToTF32))
    }
}
