// Winograd F(2x2, 3x3) convolutions of the OpenCL backend: winograd.cl's transforms around one batched GEMM over
// the 16 transform positions (gemm.cl, through `gemm`, so the tuning table's GEMM entries apply). See winograd.cl
// for the algebra and the layouts. Forward, grad-input and grad-weight, each with the scaled forms' per-(sample,
// channel) scales; the forward also with the bias_act epilogue. Only for `ConvAlgorithm.winogradApplies` shapes.
extension OpenCLBackend {
    /// Whether a conv kernel (forward, grad-input, grad-weight) on `s` runs by Winograd: as `choice` says when there is
    /// one (a tuning-table entry or an explicit configuration), else as the backend's `convAlgorithm` policy; never where
    /// it does not apply.
    func runsWinograd(_ s: Conv2dShape, _ choice: KernelChoice?) -> Bool {
        guard ConvAlgorithm.winogradApplies(s) else { return false }
        if let choice { return choice.algorithm == .winograd }
        return convAlgorithm.algorithm(for: s, minChannels: Self.winogradMinChannels) == .winograd
    }

    /// `auto` sends 3x3 stride-1 layers of at least this many channels (and 16x16 pixels) to Winograd.
    public static let winogradMinChannels = 64

    /// U `[16, O, C]` (or, flipped, `[16, C, O]` of the rotated filter) of weight `[O, C, 3, 3]`.
    private func winogradFilter(_ weight: any Buffer, outChannels o: Int, inChannels c: Int, flip: Bool) throws -> any Buffer {
        let u = try allocate(16 * o * c)
        try launch("winograd", "wino_filter", global: [o * c], local: [Self.localSize1D],
                   [.buffer(weight), .buffer(u), .int(o), .int(c), .int(flip ? 1 : 0)])
        return u
    }

    /// V `[16, splits, channels, chunk]` of x `[N, channels, H, W]` (H, W and N those of `s`; times `scale[n, c]` when
    /// given).
    private func winogradInput(_ x: any Buffer, _ s: Conv2dShape, channels: Int, splits: Int, chunk: Int,
                               scale: (any Buffer)?) throws -> any Buffer {
        let t = WinogradTiles(s)
        let v = try allocate(16 * splits * channels * chunk)
        try launch("winograd", "wino_input", global: [splits * chunk, channels], local: [64, 1],
                   [.buffer(x), .buffer(v), .int(s.batch), .int(channels), .int(s.height), .int(s.width), .int(t.tilesH),
                    .int(t.tilesW), .int(splits), .int(chunk), .buffer(scale ?? x), .int(scale == nil ? 0 : 1)])
        return v
    }

    /// The transformed product of `u` `[16, rows, depth]` and `v` `[16, depth, ldm]` into y `[N, rows, H, W]`, scaled
    /// by `scale[n, row]` and with the optional epilogue.
    private func winogradProduct(_ u: any Buffer, _ v: any Buffer, _ s: Conv2dShape, rows: Int, depth: Int,
                                 scale: (any Buffer)?, epilogue: (bias: (any Buffer)?, act: BiasActShape)?,
                                 output: any Buffer) throws {
        let t = WinogradTiles(s), ldm = t.padded
        let m = try allocate(16 * rows * ldm)
        try gemm(GemmShape(m: rows, n: ldm, k: depth, batch: 16), a: u, b: v, c: m)
        let act = epilogue?.act
        try launch("winograd", "wino_output", global: [t.count, rows], local: [64, 1],
                   [.buffer(m), .buffer(output), .int(s.batch), .int(rows), .int(s.height), .int(s.width), .int(t.tilesH),
                    .int(t.tilesW), .int(ldm), .buffer(scale ?? m), .int(scale == nil ? 0 : 1), .int(epilogue == nil ? 0 : 1),
                    .buffer(epilogue?.bias ?? m), .int(epilogue?.bias == nil ? 0 : 1),
                    .int(act?.activation == .leakyReLU ? 1 : 0), .float(act?.alpha ?? 0), .float(act?.gain ?? 1),
                    .float(act?.clamp ?? -1)])
    }

    /// y = scaledConv2d (+ bias_act) of a `winogradApplies` shape.
    func winogradForward(_ s: Conv2dShape, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?, outScale: (any Buffer)?,
                         epilogue: (bias: (any Buffer)?, act: BiasActShape)?, output: any Buffer) throws {
        try winogradConvolve(s, input, weight: weight, flip: false, inputScale: inScale, outputScale: outScale, epilogue: epilogue,
                             output: output)
    }

    /// dx = scaledConv2dGradInput of a `winogradApplies` shape: the same convolution of dy (times outScale) with the
    /// rotated filter and the channel roles swapped, times inScale.
    func winogradGradInput(_ s: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                           outScale: (any Buffer)?, gradInput: any Buffer) throws {
        try winogradConvolve(s, gradOutput, weight: weight, flip: true, inputScale: outScale, outputScale: inScale, epilogue: nil,
                             output: gradInput)
    }

    /// The Winograd convolution of `x` (times `inputScale`) with weight `[O, C, 3, 3]` into `output` (times `outputScale`,
    /// then the epilogue): x has C channels and the output O, or with `flip` (grad-input) the rotated filter maps O to C.
    private func winogradConvolve(_ s: Conv2dShape, _ x: any Buffer, weight: any Buffer, flip: Bool, inputScale: (any Buffer)?,
                                  outputScale: (any Buffer)?, epilogue: (bias: (any Buffer)?, act: BiasActShape)?,
                                  output: any Buffer) throws {
        let (rows, depth) = flip ? (s.inChannels, s.outChannels) : (s.outChannels, s.inChannels)
        let u = try winogradFilter(weight, outChannels: s.outChannels, inChannels: s.inChannels, flip: flip)
        let v = try winogradInput(x, s, channels: depth, splits: 1, chunk: WinogradTiles(s).padded, scale: inputScale)
        try winogradProduct(u, v, s, rows: rows, depth: depth, scale: outputScale, epilogue: epilogue, output: output)
    }

    /// The heuristic number of splits of grad-weight's reduction over the P tiles: enough work-groups for two per
    /// compute unit when the 16 GEMMs' `[O, C]` outputs alone cannot fill the device, each chunk at least 256 tiles,
    /// at most 64.
    public static func winogradGradWeightSplits(_ s: Conv2dShape, computeUnits: Int) -> Int {
        let tile = gemmTile(GemmShape(m: s.outChannels, n: s.inChannels, k: 1, batch: 16), computeUnits: computeUnits)
        let groups = 16 * ((s.outChannels + 16 * tile.tm - 1) / (16 * tile.tm)) * ((s.inChannels + 16 * tile.tn - 1) / (16 * tile.tn))
        let wanted = (2 * max(1, computeUnits) + groups - 1) / groups
        let tiles = WinogradTiles(s).count
        return max(1, min(wanted, tiles / 256, 64))
    }

    /// dw = scaledConv2dGradWeight of a `winogradApplies` shape: dU[ξ] = dM[ξ]·V[ξ]ᵀ over the tiles in `splits`
    /// chunks (nil: `winogradGradWeightSplits`), summed in order by the filter transform's adjoint.
    func winogradGradWeight(_ s: Conv2dShape, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                            outScale: (any Buffer)?, gradWeight: any Buffer, splits requested: Int?) throws {
        let t = WinogradTiles(s)
        let wanted = max(1, min(requested ?? Self.winogradGradWeightSplits(s, computeUnits: info.computeUnits), t.count))
        let chunk = WinogradTiles.roundUp4((t.count + wanted - 1) / wanted)
        let splits = (t.count + chunk - 1) / chunk
        let (o, c) = (s.outChannels, s.inChannels)
        let v = try winogradInput(input, s, channels: c, splits: splits, chunk: chunk, scale: inScale)
        let dm = try allocate(16 * splits * o * chunk)
        try launch("winograd", "wino_grad_output", global: [splits * chunk, o], local: [64, 1],
                   [.buffer(gradOutput), .buffer(dm), .int(s.batch), .int(o), .int(s.height), .int(s.width), .int(t.tilesH), .int(t.tilesW),
                    .int(splits), .int(chunk), .buffer(outScale ?? gradOutput), .int(outScale == nil ? 0 : 1)])
        let du = try allocate(16 * splits * o * c)
        try gemm(GemmShape(m: o, n: c, k: chunk, transB: true, batch: 16 * splits), a: dm, b: v, c: du)
        try launch("winograd", "wino_filter_grad", global: [o * c], local: [Self.localSize1D],
                   [.buffer(du), .buffer(gradWeight), .int(o), .int(c), .int(splits)])
    }
}
