// Winograd F(m x m, 3x3) convolutions of the OpenCL backend (m = `block`: 2, or 4 with winograd.cl built -D WINO_M=4):
// winograd.cl's transforms around one batched GEMM over the α² = (m + 2)² transform positions (gemm.cl, through `gemm`,
// so the tuning table's GEMM entries apply). See winograd.cl for the algebra and the layouts. Forward, grad-input and
// grad-weight, each with the scaled forms' per-(sample, channel) scales; the forward also with the bias_act epilogue.
// Only for `ConvAlgorithm.winogradApplies` shapes.
extension OpenCLBackend {
    /// The algorithm a conv kernel (forward, grad-input, grad-weight) on `s` runs by: as `choice` says when there is one
    /// (a tuning-table entry or an explicit configuration), else as the backend's `convAlgorithm` policy; `.direct`
    /// where Winograd does not apply. With TF32 products F(4x4, 3x3) runs as F(2x2, 3x3) however it was asked for (a
    /// tuning table timed in fp32, HISTOGAN_CONV_ALGORITHM=winograd4x4): see `auto4x4MinPixels`.
    func algorithm(for s: Conv2dShape, _ choice: KernelChoice?) -> ConvAlgorithm {
        guard ConvAlgorithm.winogradApplies(s) else { return .direct }
        let asked = choice.map { $0.algorithm ?? .direct }
            ?? convAlgorithm.algorithm(for: s, minChannels: Self.winogradMinChannels, min4x4Pixels: auto4x4MinPixels)
        return asked == .winograd4x4 && matmulArithmetic != .fp32 ? .winograd : asked
    }

    /// Where `auto` switches to F(4x4, 3x3) on this backend: `winograd4x4MinPixels` with fp32 products; never with TF32
    /// ones, whose operand rounding (2⁻¹¹) F(4x4)'s transforms magnify: `selftest --tf32` measured a relative error of
    /// 3.2e-3 on a 64-channel 32x32 layer by F(4x4, 3x3), 5.0e-4 at 16x16 by F(2x2, 3x3).
    public var auto4x4MinPixels: Int? { matmulArithmetic == .fp32 ? Self.winograd4x4MinPixels : nil }

    /// The build options of winograd.cl for output blocks of side `block`.
    private static func winogradOptions(_ block: Int) -> String { block == 2 ? "" : "-D WINO_M=\(block)" }

    /// `auto` sends 3x3 stride-1 layers of at least this many channels (and 16x16 pixels) to Winograd.
    public static let winogradMinChannels = 64

    /// ... and from this many pixels per image (32x32) on to F(4x4, 3x3) rather than F(2x2, 3x3). PoCL, `tune` on the
    /// 32 px network (128 channels): F(4x4) won all 6 classes of 32x32 pixels, F(2x2) 5 of the 6 of 16x16, where a
    /// batch of 4 has only 64 tiles of 4x4 for the GEMMs' columns.
    public static let winograd4x4MinPixels = 32 * 32

    /// U `[α², O, C]` (or, flipped, `[α², C, O]` of the rotated filter) of weight `[O, C, 3, 3]`.
    private func winogradFilter(_ weight: any Buffer, _ t: WinogradTiles, outChannels o: Int, inChannels c: Int,
                                flip: Bool) throws -> any Buffer {
        let u = try allocate(t.positions * o * c)
        try launch("winograd", "wino_filter", options: Self.winogradOptions(t.block), global: [o * c], local: [Self.localSize1D],
                   [.buffer(weight), .buffer(u), .int(o), .int(c), .int(flip ? 1 : 0)])
        return u
    }

    /// V `[α², splits, channels, chunk]` of x `[N, channels, H, W]` (H, W and N those of `s`; times `scale[n, c]` when
    /// given).
    private func winogradInput(_ x: any Buffer, _ s: Conv2dShape, _ t: WinogradTiles, channels: Int, splits: Int, chunk: Int,
                               scale: (any Buffer)?) throws -> any Buffer {
        let v = try allocate(t.positions * splits * channels * chunk)
        try launch("winograd", "wino_input", options: Self.winogradOptions(t.block), global: [splits * chunk, channels],
                   local: [64, 1],
                   [.buffer(x), .buffer(v), .int(s.batch), .int(channels), .int(s.height), .int(s.width), .int(t.tilesH),
                    .int(t.tilesW), .int(splits), .int(chunk), .buffer(scale ?? x), .int(scale == nil ? 0 : 1)])
        return v
    }

    /// The transformed product of `u` `[α², rows, depth]` and `v` `[α², depth, ldm]` into y `[N, rows, H, W]`, scaled
    /// by `scale[n, row]` and with the optional epilogue.
    private func winogradProduct(_ u: any Buffer, _ v: any Buffer, _ s: Conv2dShape, _ t: WinogradTiles, rows: Int, depth: Int,
                                 scale: (any Buffer)?, epilogue: (bias: (any Buffer)?, act: BiasActShape)?,
                                 output: any Buffer) throws {
        let ldm = t.padded
        let m = try allocate(t.positions * rows * ldm)
        try gemm(GemmShape(m: rows, n: ldm, k: depth, batch: t.positions), a: u, b: v, c: m)
        let act = epilogue?.act
        try launch("winograd", "wino_output", options: Self.winogradOptions(t.block), global: [t.count, rows], local: [64, 1],
                   [.buffer(m), .buffer(output), .int(s.batch), .int(rows), .int(s.height), .int(s.width), .int(t.tilesH),
                    .int(t.tilesW), .int(ldm), .buffer(scale ?? m), .int(scale == nil ? 0 : 1), .int(epilogue == nil ? 0 : 1),
                    .buffer(epilogue?.bias ?? m), .int(epilogue?.bias == nil ? 0 : 1),
                    .int(act?.activation == .leakyReLU ? 1 : 0), .float(act?.alpha ?? 0), .float(act?.gain ?? 1),
                    .float(act?.clamp ?? -1)])
    }

    /// y = scaledConv2d (+ bias_act) of a `winogradApplies` shape.
    func winogradForward(_ s: Conv2dShape, block: Int, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                         outScale: (any Buffer)?, epilogue: (bias: (any Buffer)?, act: BiasActShape)?, output: any Buffer) throws {
        try winogradConvolve(s, WinogradTiles(s, block: block), input, weight: weight, flip: false, inputScale: inScale,
                             outputScale: outScale, epilogue: epilogue, output: output)
    }

    /// dx = scaledConv2dGradInput of a `winogradApplies` shape: the same convolution of dy (times outScale) with the
    /// rotated filter and the channel roles swapped, times inScale.
    func winogradGradInput(_ s: Conv2dShape, block: Int, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                           outScale: (any Buffer)?, gradInput: any Buffer) throws {
        try winogradConvolve(s, WinogradTiles(s, block: block), gradOutput, weight: weight, flip: true, inputScale: outScale,
                             outputScale: inScale, epilogue: nil, output: gradInput)
    }

    /// The Winograd convolution of `x` (times `inputScale`) with weight `[O, C, 3, 3]` into `output` (times `outputScale`,
    /// then the epilogue): x has C channels and the output O, or with `flip` (grad-input) the rotated filter maps O to C.
    private func winogradConvolve(_ s: Conv2dShape, _ t: WinogradTiles, _ x: any Buffer, weight: any Buffer, flip: Bool,
                                  inputScale: (any Buffer)?, outputScale: (any Buffer)?,
                                  epilogue: (bias: (any Buffer)?, act: BiasActShape)?, output: any Buffer) throws {
        let (rows, depth) = flip ? (s.inChannels, s.outChannels) : (s.outChannels, s.inChannels)
        let u = try winogradFilter(weight, t, outChannels: s.outChannels, inChannels: s.inChannels, flip: flip)
        let v = try winogradInput(x, s, t, channels: depth, splits: 1, chunk: t.padded, scale: inputScale)
        try winogradProduct(u, v, s, t, rows: rows, depth: depth, scale: outputScale, epilogue: epilogue, output: output)
    }

    /// The heuristic number of splits of grad-weight's reduction over the P tiles of F(`block` x `block`, 3x3):
    /// enough work-groups for two per compute unit when the α² GEMMs' `[O, C]` outputs alone cannot fill the device,
    /// each chunk at least 256 tiles, at most 64.
    public static func winogradGradWeightSplits(_ s: Conv2dShape, block: Int = 2, computeUnits: Int) -> Int {
        let t = WinogradTiles(s, block: block)
        let tile = gemmTile(GemmShape(m: s.outChannels, n: s.inChannels, k: 1, batch: t.positions), computeUnits: computeUnits)
        let groups = t.positions * ((s.outChannels + 16 * tile.tm - 1) / (16 * tile.tm))
            * ((s.inChannels + 16 * tile.tn - 1) / (16 * tile.tn))
        let wanted = (2 * max(1, computeUnits) + groups - 1) / groups
        let tiles = t.count
        return max(1, min(wanted, tiles / 256, 64))
    }

    /// dw = scaledConv2dGradWeight of a `winogradApplies` shape: dU[ξ] = dM[ξ]·V[ξ]ᵀ over the tiles in `splits`
    /// chunks (nil: `winogradGradWeightSplits`), summed in order by the filter transform's adjoint.
    func winogradGradWeight(_ s: Conv2dShape, block: Int, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                            outScale: (any Buffer)?, gradWeight: any Buffer, splits requested: Int?) throws {
        let t = WinogradTiles(s, block: block), options = Self.winogradOptions(block)
        let wanted = max(1, min(requested ?? Self.winogradGradWeightSplits(s, block: block, computeUnits: info.computeUnits), t.count))
        let chunk = WinogradTiles.roundUp4((t.count + wanted - 1) / wanted)
        let splits = (t.count + chunk - 1) / chunk
        let (o, c) = (s.outChannels, s.inChannels)
        let v = try winogradInput(input, s, t, channels: c, splits: splits, chunk: chunk, scale: inScale)
        let dm = try allocate(t.positions * splits * o * chunk)
        try launch("winograd", "wino_grad_output", options: options, global: [splits * chunk, o], local: [64, 1],
                   [.buffer(gradOutput), .buffer(dm), .int(s.batch), .int(o), .int(s.height), .int(s.width), .int(t.tilesH), .int(t.tilesW),
                    .int(splits), .int(chunk), .buffer(outScale ?? gradOutput), .int(outScale == nil ? 0 : 1)])
        let du = try allocate(t.positions * splits * o * c)
        try gemm(GemmShape(m: o, n: c, k: chunk, transB: true, batch: t.positions * splits), a: dm, b: v, c: du)
        try launch("winograd", "wino_filter_grad", options: options, global: [o * c], local: [Self.localSize1D],
                   [.buffer(du), .buffer(gradWeight), .int(o), .int(c), .int(splits)])
    }
}
