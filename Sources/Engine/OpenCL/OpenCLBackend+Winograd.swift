// Winograd convolutions of the OpenCL backend: F(m x m, 3x3) of the 3x3 stride-1 convs (m = `block`: 2, or 4 with
// winograd.cl built -D WINO_M=4), and F(4x4, 2x2) over the four stride phases of the 3x3 stride-2 ones (-D WINO_R=2):
// winograd.cl's transforms around one batched GEMM over the α² transform positions (gemm.cl, through `gemm`, so the
// tuning table's GEMM entries apply). See winograd.cl for the algebra and the layouts. Forward, grad-input and
// grad-weight, each with the scaled forms' per-(sample, channel) scales; the forward also with the bias_act epilogue.
// Only for `ConvAlgorithm.winogradApplies` and `phasedWinogradApplies` shapes.
extension OpenCLBackend {
    /// The algorithm a conv kernel (forward, grad-input, grad-weight) on `s` runs by: as `choice` says when there is one
    /// (a tuning-table entry or an explicit configuration), else as the backend's `convAlgorithm` policy; `.direct`
    /// where Winograd does not apply (and for stride 2 under `.winograd`: F(2x2, 2x2) over the phases saves nothing). With
    /// TF32 products F(4x4, 3x3) runs as F(2x2, 3x3), and the stride-2 phases directly, however they were asked for (a
    /// tuning table timed in fp32, HISTOGAN_CONV_ALGORITHM=winograd4x4): see `auto4x4MinPixels`.
    func algorithm(for s: Conv2dShape, _ choice: KernelChoice?) -> ConvAlgorithm {
        let phased = ConvAlgorithm.phasedWinogradApplies(s)
        guard ConvAlgorithm.winogradApplies(s) || phased else { return .direct }
        let asked = choice.map { $0.algorithm ?? .direct }
            ?? convAlgorithm.algorithm(for: s, minChannels: Self.winogradMinChannels, min4x4Pixels: auto4x4MinPixels, phased: true)
        guard asked == .winograd4x4 && matmulArithmetic != .fp32 else { return phased && asked == .winograd ? .direct : asked }
        return phased ? .direct : .winograd
    }

    /// Where `auto` switches to F(4x4, 3x3) on this backend: `winograd4x4MinPixels` with fp32 products; never with TF32
    /// ones, whose operand rounding (2⁻¹¹) F(4x4)'s transforms magnify: `selftest --tf32` measured a relative error of
    /// 3.2e-3 on a 64-channel 32x32 layer by F(4x4, 3x3), 5.0e-4 at 16x16 by F(2x2, 3x3).
    public var auto4x4MinPixels: Int? { matmulArithmetic == .fp32 ? Self.winograd4x4MinPixels : nil }

    /// The build options of winograd.cl for F(`block` x `block`, 3x3), or with `phased` F(4x4, 2x2) over the stride phases.
    private static func winogradOptions(_ block: Int, phased: Bool = false) -> String {
        phased ? "-D WINO_M=4 -D WINO_R=2" : block == 2 ? "" : "-D WINO_M=\(block)"
    }

    /// `auto` sends 3x3 stride-1 layers of at least this many channels (and 16x16 pixels) to Winograd.
    public static let winogradMinChannels = 64

    /// ... and from this many pixels per image (32x32) on to F(4x4, 3x3) rather than F(2x2, 3x3). PoCL, `tune` on the
    /// 32 px network (128 channels): F(4x4) won all 6 classes of 32x32 pixels, F(2x2) 5 of the 6 of 16x16, where a
    /// batch of 4 has only 64 tiles of 4x4 for the GEMMs' columns.
    public static let winograd4x4MinPixels = 32 * 32

    /// How one Winograd convolution's transforms read and write: F(m x m, 3x3) on a `winogradApplies` shape, or the stride
    /// phases of a `phasedWinogradApplies` one by F(4x4, 2x2) (winograd.cl's header has the algebra).
    private struct WinogradPlan {
        let s: Conv2dShape, block: Int, phased: Bool
        /// The plan of `s` by F(`block` x `block`, 3x3), or by its phases when it is a `phasedWinogradApplies` shape.
        init(_ s: Conv2dShape, block: Int) {
            (self.s, self.block, phased) = (s, block, ConvAlgorithm.phasedWinogradApplies(s))
        }
        var options: String { OpenCLBackend.winogradOptions(block, phased: phased) }
        /// Channels of the transforms per input channel: the four stride phases, or 1.
        var phases: Int { phased ? 4 : 1 }
        /// The tiles of the outputs (forward's y; grad-weight's dy).
        var outputTiles: WinogradTiles {
            phased ? WinogradTiles(batch: s.batch, height: s.outHeight, width: s.outWidth, block: 4, taps: 2)
                : WinogradTiles(s, block: block)
        }
        /// The tiles of grad-input's dx: of dx̃, ⌈(H + padH)/2⌉ x ⌈(W + padW)/2⌉ when phased.
        var inputTiles: WinogradTiles {
            phased ? WinogradTiles(batch: s.batch, height: (s.height + s.padH + 1) / 2, width: (s.width + s.padW + 1) / 2,
                                   block: 4, taps: 2)
                : WinogradTiles(s, block: block)
        }
    }

    /// U `[α², O, C·phases]` (or, flipped, `[α², C·phases, O]` of the rotated filter) of weight `[O, C, 3, 3]`.
    private func winogradFilter(_ weight: any Buffer, _ plan: WinogradPlan, _ t: WinogradTiles, flip: Bool) throws -> any Buffer {
        let (o, c) = (plan.s.outChannels, plan.s.inChannels)
        let u = try allocate(t.positions * o * c * plan.phases)
        try launch("winograd", "wino_filter", options: plan.options, global: [o * c * plan.phases], local: [Self.localSize1D],
                   [.buffer(weight), .buffer(u), .int(o), .int(c), .int(flip ? 1 : 0)])
        return u
    }

    /// V `[α², splits, channels·phases, chunk]` of x `[N, channels, height, width]` (N that of the plan's shape; times
    /// `scale[n, c]` when given): patches at offset −`pad`, or with `phased` of x's space-to-depth at the shape's padding.
    private func winogradInput(_ x: any Buffer, _ plan: WinogradPlan, _ t: WinogradTiles, channels: Int, height: Int, width: Int,
                               pad: (h: Int, w: Int), phased: Bool, splits: Int, chunk: Int, scale: (any Buffer)?) throws -> any Buffer {
        let depth = channels * (phased ? 4 : 1)
        let v = try allocate(t.positions * splits * depth * chunk)
        try launch("winograd", "wino_input", options: plan.options, global: [splits * chunk, depth], local: [64, 1],
                   [.buffer(x), .buffer(v), .int(plan.s.batch), .int(channels), .int(height), .int(width), .int(t.tilesH),
                    .int(t.tilesW), .int(splits), .int(chunk), .buffer(scale ?? x), .int(scale == nil ? 0 : 1),
                    .int(pad.h), .int(pad.w), .int(phased ? 1 : 0)])
        return v
    }

    /// The transformed product of `u` `[α², rows, depth]` and `v` `[α², depth, ldm]` into `output` `[N, channels, height,
    /// width]` (rows = channels, or with `phased` the 4·channels of its space-to-depth at the shape's padding), scaled by
    /// `scale[n, channel]` and with the optional epilogue; the shape's weight gain is the GEMM's alpha.
    private func winogradProduct(_ u: any Buffer, _ v: any Buffer, _ plan: WinogradPlan, _ t: WinogradTiles, channels: Int,
                                 height: Int, width: Int, phased: Bool, depth: Int, scale: (any Buffer)?,
                                 epilogue: (bias: (any Buffer)?, act: BiasActShape)?, output: any Buffer) throws {
        let ldm = t.padded, rows = channels * (phased ? 4 : 1)
        let m = try allocate(t.positions * rows * ldm)
        try gemm(GemmShape(m: rows, n: ldm, k: depth, batch: t.positions, alpha: plan.s.weightGain), a: u, b: v, c: m)
        let act = epilogue?.act
        try launch("winograd", "wino_output", options: plan.options, global: [t.count, rows], local: [64, 1],
                   [.buffer(m), .buffer(output), .int(plan.s.batch), .int(channels), .int(height), .int(width), .int(t.tilesH),
                    .int(t.tilesW), .int(ldm), .buffer(scale ?? m), .int(scale == nil ? 0 : 1), .int(epilogue == nil ? 0 : 1),
                    .buffer(epilogue?.bias ?? m), .int(epilogue?.bias == nil ? 0 : 1),
                    .int(act?.activation == .leakyReLU ? 1 : 0), .float(act?.alpha ?? 0), .float(act?.gain ?? 1),
                    .float(act?.clamp ?? -1), .int(plan.s.padH), .int(plan.s.padW), .int(phased ? 1 : 0)])
    }

    /// y = scaledConv2d (+ bias_act) of a `winogradApplies` or `phasedWinogradApplies` shape: the transforms of x (its
    /// phases when stride 2) times U, into y's pixels.
    func winogradForward(_ s: Conv2dShape, block: Int, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                         outScale: (any Buffer)?, epilogue: (bias: (any Buffer)?, act: BiasActShape)?, output: any Buffer) throws {
        let plan = WinogradPlan(s, block: block), t = plan.outputTiles
        let u = try winogradFilter(weight, plan, t, flip: false)
        let v = try winogradInput(input, plan, t, channels: s.inChannels, height: s.height, width: s.width,
                                  pad: (s.padH, s.padW), phased: plan.phased, splits: 1, chunk: t.padded, scale: inScale)
        try winogradProduct(u, v, plan, t, channels: s.outChannels, height: s.outHeight, width: s.outWidth, phased: false,
                            depth: s.inChannels * plan.phases, scale: outScale, epilogue: epilogue, output: output)
    }

    /// dx = scaledConv2dGradInput of the same shapes: the convolution of dy (times outScale, padding 1) with the rotated
    /// filter (of each phase) and the channel roles swapped, into dx's pixels (of its phases), times inScale.
    func winogradGradInput(_ s: Conv2dShape, block: Int, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                           outScale: (any Buffer)?, gradInput: any Buffer) throws {
        let plan = WinogradPlan(s, block: block), t = plan.inputTiles
        let u = try winogradFilter(weight, plan, t, flip: true)
        let v = try winogradInput(gradOutput, plan, t, channels: s.outChannels, height: s.outHeight, width: s.outWidth,
                                  pad: (1, 1), phased: false, splits: 1, chunk: t.padded, scale: outScale)
        try winogradProduct(u, v, plan, t, channels: s.inChannels, height: s.height, width: s.width, phased: plan.phased,
                            depth: s.outChannels, scale: inScale, epilogue: nil, output: gradInput)
    }

    /// The heuristic number of splits of grad-weight's reduction over the P tiles of F(`block` x `block`, 3x3) (or, for a
    /// stride-2 shape, F(4x4, 2x2) over its phases): enough work-groups for two per compute unit when the α² GEMMs'
    /// `[O, C·phases]` outputs alone cannot fill the device, each chunk at least 256 tiles, at most 64.
    public static func winogradGradWeightSplits(_ s: Conv2dShape, block: Int = 2, computeUnits: Int) -> Int {
        let plan = WinogradPlan(s, block: block), t = plan.outputTiles
        let c = s.inChannels * plan.phases
        let tile = gemmTile(GemmShape(m: s.outChannels, n: c, k: 1, batch: t.positions), computeUnits: computeUnits)
        let groups = t.positions * ((s.outChannels + 16 * tile.tm - 1) / (16 * tile.tm)) * ((c + 16 * tile.tn - 1) / (16 * tile.tn))
        let wanted = (2 * max(1, computeUnits) + groups - 1) / groups
        return max(1, min(wanted, t.count / 256, 64))
    }

    /// dw = scaledConv2dGradWeight of a `winogradApplies` or `phasedWinogradApplies` shape: dU[ξ] = dM[ξ]·V[ξ]ᵀ over the
    /// tiles in `splits` chunks (nil: `winogradGradWeightSplits`), summed in order by the filter transform's adjoint
    /// (which puts the phases' taps back in the 3x3 filter).
    func winogradGradWeight(_ s: Conv2dShape, block: Int, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                            outScale: (any Buffer)?, gradWeight: any Buffer, splits requested: Int?) throws {
        let plan = WinogradPlan(s, block: block), t = plan.outputTiles
        let wanted = max(1, min(requested ?? Self.winogradGradWeightSplits(s, block: block, computeUnits: info.computeUnits), t.count))
        let chunk = WinogradTiles.roundUp4((t.count + wanted - 1) / wanted)
        let splits = (t.count + chunk - 1) / chunk
        let (o, c) = (s.outChannels, s.inChannels * plan.phases)
        let v = try winogradInput(input, plan, t, channels: s.inChannels, height: s.height, width: s.width,
                                  pad: (s.padH, s.padW), phased: plan.phased, splits: splits, chunk: chunk, scale: inScale)
        let dm = try allocate(t.positions * splits * o * chunk)
        try launch("winograd", "wino_grad_output", options: plan.options, global: [splits * chunk, o], local: [64, 1],
                   [.buffer(gradOutput), .buffer(dm), .int(s.batch), .int(o), .int(s.outHeight), .int(s.outWidth), .int(t.tilesH),
                    .int(t.tilesW), .int(splits), .int(chunk), .buffer(outScale ?? gradOutput), .int(outScale == nil ? 0 : 1)])
        let du = try allocate(t.positions * splits * o * c)
        try gemm(GemmShape(m: o, n: c, k: chunk, transB: true, batch: t.positions * splits, alpha: s.weightGain),
                 a: dm, b: v, c: du)
        try launch("winograd", "wino_filter_grad", options: plan.options, global: [o * c], local: [Self.localSize1D],
                   [.buffer(du), .buffer(gradWeight), .int(o), .int(s.inChannels), .int(splits)])
    }
}
