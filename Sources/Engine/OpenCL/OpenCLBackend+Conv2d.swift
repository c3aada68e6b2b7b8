// Convolution of the OpenCL backend (conv2d.cl): implicit GEMMs specialised by `-D` on kernel size,
// stride and tile shape. See conv2d.cl for the index maps. The scaled forms (`-D IN_SCALE`, `-D OUT_SCALE`) are
// the same launches with the scale buffers appended. Each `Backend` method takes its configuration from the
// tuning table when it has an entry for the shape class, else from the heuristics below; the `choice:` variants
// launch an explicit configuration (the tuner and the tests).
extension OpenCLBackend {
    public func conv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, output: any Buffer) throws {
        try scaledConv2d(shape, input: input, weight: weight, inScale: nil, outScale: nil, output: output)
    }

    public func conv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, gradInput: any Buffer) throws {
        try scaledConv2dGradInput(shape, gradOutput: gradOutput, weight: weight, inScale: nil, outScale: nil, gradInput: gradInput)
    }

    public func conv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, gradWeight: any Buffer) throws {
        try scaledConv2dGradWeight(shape, input: input, gradOutput: gradOutput, inScale: nil, outScale: nil, gradWeight: gradWeight)
    }

    public func scaledConv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                             outScale: (any Buffer)?, output: any Buffer) throws {
        try scaledConv2d(shape, input: input, weight: weight, inScale: inScale, outScale: outScale, output: output,
                         choice: tunedChoice(.conv(.conv2dForward, shape)))
    }

    public func scaledConv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                                      outScale: (any Buffer)?, gradInput: any Buffer) throws {
        try scaledConv2dGradInput(shape, gradOutput: gradOutput, weight: weight, inScale: inScale, outScale: outScale,
                                  gradInput: gradInput, choice: tunedChoice(.conv(.conv2dGradInput, shape)))
    }

    public func scaledConv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                                       outScale: (any Buffer)?, gradWeight: any Buffer) throws {
        try scaledConv2dGradWeight(shape, input: input, gradOutput: gradOutput, inScale: inScale, outScale: outScale,
                                   gradWeight: gradWeight, choice: tunedChoice(.conv(.conv2dGradWeight, shape)))
    }

    /// `conv2d` with configuration `choice` (nil: the heuristic tile, no split).
    public func conv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, output: any Buffer,
                       choice: KernelChoice?) throws {
        try scaledConv2d(shape, input: input, weight: weight, inScale: nil, outScale: nil, output: output, choice: choice)
    }

    /// `conv2dGradInput` with configuration `choice` (nil: the heuristic tile per stride phase).
    public func conv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, gradInput: any Buffer,
                                choice: KernelChoice?) throws {
        try scaledConv2dGradInput(shape, gradOutput: gradOutput, weight: weight, inScale: nil, outScale: nil,
                                  gradInput: gradInput, choice: choice)
    }

    /// `conv2dGradWeight` with configuration `choice` (nil: the heuristic tile and split count).
    public func conv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, gradWeight: any Buffer,
                                 choice: KernelChoice?) throws {
        try scaledConv2dGradWeight(shape, input: input, gradOutput: gradOutput, inScale: nil, outScale: nil,
                                   gradWeight: gradWeight, choice: choice)
    }

    /// The forward convolution with tile `choice.conv` and `choice.splits` K splits (nil: the heuristic tile and
    /// split count, `defaultKSplits`). With splits, each split's partial sums over its K range go to a scratch buffer
    /// `[splits, N, O, outH, outW]` and `conv2d_sum_splits` adds them in split order (bit-reproducible).
    public func scaledConv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                             outScale: (any Buffer)?, output: any Buffer, choice: KernelChoice?) throws {
        try shape.validate("conv2d", input: input, weight: weight, output: output)
        try shape.validateScales("scaledConv2d", inScale: inScale, outScale: outScale)
        if let block = algorithm(for: shape, choice).winogradBlock {
            return try winogradForward(shape, block: block, input: input, weight: weight, inScale: inScale, outScale: outScale,
                                       epilogue: nil, output: output)
        }
        try convForward(shape, input: input, weight: weight, inScale: inScale, outScale: outScale, epilogue: nil,
                        output: output, choice: Self.directChoice(choice))
    }

    /// `conv2d` + `biasAct` in one launch of `conv2d_fwd -D EPILOGUE` (the tuned or heuristic configuration).
    public func conv2dBiasAct(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, bias: (any Buffer)?, act: BiasActShape,
                              output: any Buffer) throws {
        try shape.validate("conv2dBiasAct", input: input, weight: weight, output: output)
        guard act.noise == nil, act.count == shape.outputCount, act.channels == shape.outChannels,
              act.inner == shape.outHeight * shape.outWidth else {
            throw EngineError.shapeMismatch(op: "conv2dBiasAct", detail: "bias_act layout \(act) for the output of \(shape)")
        }
        try act.validate("conv2dBiasAct", hasBias: bias != nil, buffers: [output], bias: bias)
        let choice = tunedChoice(.conv(.conv2dForward, shape))
        if let block = algorithm(for: shape, choice).winogradBlock {
            return try winogradForward(shape, block: block, input: input, weight: weight, inScale: nil, outScale: nil,
                                       epilogue: (bias, act), output: output)
        }
        try convForward(shape, input: input, weight: weight, inScale: nil, outScale: nil, epilogue: (bias, act), output: output,
                        choice: Self.directChoice(choice))
    }

    /// The one forward launcher: `conv2d_fwd` with the scales present and, with `epilogue`, bias_act in its store —
    /// unless K is split, when the activation must wait for the sum: then `conv2d_sum_splits` and `biasAct` follow.
    private func convForward(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                             outScale: (any Buffer)?, epilogue: (bias: (any Buffer)?, act: BiasActShape)?, output: any Buffer,
                             choice: KernelChoice?) throws {
        let (rows, cols, depth) = Self.convGEMM(.conv2dForward, shape)
        let tile = try Self.convTile(choice, "conv2d") ?? ConvTile.choose(rows: rows, cols: cols)
        let tilesN = tile.tiles(cols, tile.tn), tilesM = tile.tiles(rows, tile.tm)
        let requested = choice?.splits ?? Self.defaultKSplits(tiles: tilesN * tilesM * shape.groups, depth: depth, tk: tile.tk,
                                                              computeUnits: info.computeUnits)
        let (splits, chunk) = Self.kSplits(requested: requested, depth: depth, tk: tile.tk)
        var options = convOptions(tile, shape, inScale, outScale, choice?.staging)
        var epilogueArgs: [KernelArg] = []
        if let epilogue, splits == 1 {
            options += " -D EPILOGUE -D EP_BIAS=\(epilogue.bias == nil ? 0 : 1) -D EP_ACT=\(epilogue.act.activation.rawValue)"
            epilogueArgs = [.buffer(epilogue.bias ?? weight), .float(epilogue.act.alpha), .float(epilogue.act.gain),
                            .float(epilogue.act.clamp)]
        }
        let partial = splits > 1 ? try allocate(splits * shape.outputCount) : output
        try launch("conv2d", "conv2d_fwd", options: options,
                   global: [tilesN * tile.threads, tilesM, shape.groups * splits], local: [tile.threads, 1, 1],
                   [.buffer(input), .buffer(weight), .buffer(partial)] + Self.convArgs(shape)
                   + [.int(chunk), .int(splits > 1 ? shape.outputCount : 0)] + Self.scaleArgs(inScale, outScale) + epilogueArgs)
        guard splits > 1 else { return }
        try launch("conv2d", "conv2d_sum_splits", options: options,
                   global: [shape.outputCount], local: [Self.localSize1D],
                   [.buffer(partial), .buffer(output), .int(shape.outputCount), .int(splits)])
        if let epilogue { try biasAct(epilogue.act, x: output, bias: epilogue.bias, y: output) }
    }

    /// The input gradient, every stride phase in one launch, with tile `choice.conv` (nil: the heuristic tile of the
    /// first, widest phase) and `choice.splits` K splits (nil: `defaultKSplits` for that phase's tiles and the deepest
    /// phase's K). Every phase uses the same split count; with splits the phases write a scratch `[splits, N, C, H, W]`
    /// that one `conv2d_sum_splits` adds.
    public func scaledConv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                                      outScale: (any Buffer)?, gradInput: any Buffer, choice: KernelChoice?) throws {
        try shape.validate("conv2dGradInput", input: gradInput, weight: weight, output: gradOutput)
        try shape.validateScales("scaledConv2dGradInput", inScale: inScale, outScale: outScale)
        if let block = algorithm(for: shape, choice).winogradBlock {
            return try winogradGradInput(shape, block: block, gradOutput: gradOutput, weight: weight, inScale: inScale,
                                         outScale: outScale, gradInput: gradInput)
        }
        let choice = Self.directChoice(choice)
        let fixed = try Self.convTile(choice, "conv2dGradInput")
        let phases = Self.gradInputPhases(shape)
        let (rows, firstCols, deepest) = Self.convGEMM(.conv2dGradInput, shape)
        let first = fixed ?? ConvTile.choose(rows: rows, cols: firstCols)
        let requested = choice?.splits ?? Self.defaultKSplits(
            tiles: first.tiles(firstCols, first.tn) * first.tiles(rows, first.tm) * shape.groups, depth: deepest,
            tk: first.tk, computeUnits: info.computeUnits)
        let splits = Self.kSplits(requested: requested, depth: deepest, tk: first.tk).splits
        let partial = splits > 1 ? try allocate(splits * shape.inputCount) : gradInput
        // One launch for every stride phase (py, px), sized by the first, widest phase; together they write every
        // pixel of dx (of each split) exactly once. Each phase splits its own K depth in `splits` chunks.
        let phasesX = min(shape.stride, shape.width)
        try launch("conv2d", "conv2d_grad_input",
                   options: convOptions(first, shape, inScale, outScale, choice?.staging),
                   global: [first.tiles(firstCols, first.tn) * first.threads, first.tiles(rows, first.tm),
                            shape.groups * splits * phases.count],
                   local: [first.threads, 1, 1],
                   [.buffer(gradOutput), .buffer(weight), .buffer(partial)] + Self.convArgs(shape)
                   + [.int(phasesX), .int(splits), .int(splits > 1 ? shape.inputCount : 0)]
                   + Self.scaleArgs(inScale, outScale))
        guard splits > 1 else { return }
        try launch("conv2d", "conv2d_sum_splits", options: convOptions(first, shape, inScale, outScale, choice?.staging),
                   global: [shape.inputCount], local: [Self.localSize1D],
                   [.buffer(partial), .buffer(gradInput), .int(shape.inputCount), .int(splits)])
    }

    /// Conv kernel `kernel` (not `.gemm`) of `s` as a GEMM per group: the rows and columns of its output tiles
    /// (grad-input: of its first stride phase) and the depth of its reduction (grad-input: of the deepest phase).
    /// What the launchers and the tuner's heuristic both size tiles and K splits by.
    static func convGEMM(_ kernel: TunedKernel, _ s: Conv2dShape) -> (rows: Int, cols: Int, depth: Int) {
        let cg = s.inChannels / s.groups, og = s.outChannels / s.groups, kk = s.kernelH * s.kernelW
        switch kernel {
        case .conv2dForward: return (og, s.batch * s.outHeight * s.outWidth, cg * kk)
        case .conv2dGradInput:
            let phases = gradInputPhases(s)
            return (cg, phases[0].cols, phases.map(\.depth).max() ?? 0)
        default: return (og, cg * kk, s.batch * s.outHeight * s.outWidth)
        }
    }

    /// The stride phases (py, px) of grad-input with their columns N·phH·phW and K depth Og·nky·nkx (the taps
    /// ky ≡ py + padH mod S, as `make_phase` in conv2d.cl).
    static func gradInputPhases(_ shape: Conv2dShape) -> [(py: Int, px: Int, cols: Int, depth: Int)] {
        let s = shape.stride, og = shape.outChannels / shape.groups
        func taps(_ p: Int, _ pad: Int, _ k: Int) -> Int {
            let k0 = (p + pad) % s
            return k0 < k ? (k - k0 + s - 1) / s : 0
        }
        var phases: [(py: Int, px: Int, cols: Int, depth: Int)] = []
        for py in 0..<min(s, shape.height) {
            for px in 0..<min(s, shape.width) {
                let cols = shape.batch * ((shape.height - py + s - 1) / s) * ((shape.width - px + s - 1) / s)
                phases.append((py, px, cols, og * taps(py, shape.padH, shape.kernelH) * taps(px, shape.padW, shape.kernelW)))
            }
        }
        return phases
    }

    /// The weight gradient with tile `choice.conv` and `choice.splits` K splits (nil: the heuristic tile and
    /// split count). Partial sums are added in a fixed order by `conv2d_sum_splits`.
    public func scaledConv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                                       outScale: (any Buffer)?, gradWeight: any Buffer, choice: KernelChoice?) throws {
        try shape.validate("conv2dGradWeight", input: input, weight: gradWeight, output: gradOutput)
        try shape.validateScales("scaledConv2dGradWeight", inScale: inScale, outScale: outScale)
        if let block = algorithm(for: shape, choice).winogradBlock {
            return try winogradGradWeight(shape, block: block, input: input, gradOutput: gradOutput, inScale: inScale,
                                          outScale: outScale, gradWeight: gradWeight, splits: choice?.splits)
        }
        let choice = Self.directChoice(choice)
        let (rows, cols, reduction) = Self.convGEMM(.conv2dGradWeight, shape)
        let tile = try Self.convTile(choice, "conv2dGradWeight") ?? ConvTile.choose(rows: rows, cols: cols)
        let tilesN = tile.tiles(cols, tile.tn), tilesM = tile.tiles(rows, tile.tm)
        // Split K when the tiles alone cannot fill the device; partial sums are added in a fixed order.
        let requested = choice?.splits ?? Self.defaultKSplits(tiles: tilesN * tilesM * shape.groups, depth: reduction,
                                                              tk: tile.tk, computeUnits: info.computeUnits)
        let (splits, chunk) = Self.kSplits(requested: requested, depth: reduction, tk: tile.tk)
        let partial = splits > 1 ? try allocate(splits * shape.weightCount) : gradWeight
        let options = convOptions(tile, shape, inScale, outScale, choice?.staging)
        try launch("conv2d", "conv2d_grad_weight", options: options,
                   global: [tilesN * tile.threads, tilesM, shape.groups * splits], local: [tile.threads, 1, 1],
                   [.buffer(input), .buffer(gradOutput), .buffer(partial)] + Self.convArgs(shape)
                   + [.int(chunk), .int(splits > 1 ? shape.weightCount : 0)] + Self.scaleArgs(inScale, outScale))
        if splits > 1 {
            try launch("conv2d", "conv2d_sum_splits", options: options,
                       global: [shape.weightCount], local: [Self.localSize1D],
                       [.buffer(partial), .buffer(gradWeight), .int(shape.weightCount), .int(splits)])
        }
    }

    /// N, C, H, W, O, outH, outW, G, padH, padW, weightGain: the leading scalar arguments of every conv2d kernel.
    static func convArgs(_ s: Conv2dShape) -> [KernelArg] {
        [.int(s.batch), .int(s.inChannels), .int(s.height), .int(s.width), .int(s.outChannels),
         .int(s.outHeight), .int(s.outWidth), .int(s.groups), .int(s.padH), .int(s.padW), .float(s.weightGain)]
    }

    /// Build options of conv2d.cl for `tile` on `shape` with the scales present: the tile, K-step unrolling on
    /// GPUs, the staging (`chosenStaging`, else the backend's; double-buffered only where two tiles fit the local
    /// memory), the arithmetic (TF32 where the backend's is and the tile has a TF32 form), the float4 loads and the
    /// scale options.
    func convOptions(_ tile: ConvTile, _ shape: Conv2dShape, _ inScale: (any Buffer)?, _ outScale: (any Buffer)?,
                     _ chosenStaging: TileStaging?) -> String {
        tile.options(shape, unroll: device.isGPU)
            + stagedOptions(fp32Bytes: tile.stagedBytes, depth: tile.tk, exchangeBytes: tile.tf32ExchangeBytes,
                            tensorCores: tile.hasTF32Form, staging: chosenStaging ?? staging)
            + Self.vectorOptions(tile, shape) + Self.scaleOptions(inScale, outScale)
    }

    /// `-D FWD_VEC_A` / `-D GW_VEC_A` (float4 loads of the forward's weights and of grad-weight's dy) where `tile` and
    /// `shape` allow them: the tile's A share a multiple of 4 elements, and the forward's K = C/G·KH·KW or grad-weight's
    /// outH·outW a multiple of 4. Both are set for every kernel of a shape and tile, so its three kernels share one program.
    public static func vectorOptions(_ tile: ConvTile, _ shape: Conv2dShape) -> String {
        guard tile.tm * tile.tk / tile.threads % 4 == 0, tile.tk % 4 == 0, tile.threads % (tile.tk / 4) == 0 else { return "" }
        let depth = shape.inChannels / shape.groups * shape.kernelH * shape.kernelW
        return (depth % 4 == 0 ? " -D FWD_VEC_A" : "") + (shape.outHeight * shape.outWidth % 4 == 0 ? " -D GW_VEC_A" : "")
    }

    /// The `-D IN_SCALE` / `-D OUT_SCALE` build options for the scales present.
    static func scaleOptions(_ inScale: (any Buffer)?, _ outScale: (any Buffer)?) -> String {
        (inScale == nil ? "" : " -D IN_SCALE") + (outScale == nil ? "" : " -D OUT_SCALE")
    }

    /// The trailing scale arguments of a conv2d kernel: inScale, then outScale, each only when present.
    static func scaleArgs(_ inScale: (any Buffer)?, _ outScale: (any Buffer)?) -> [KernelArg] {
        (inScale.map { [KernelArg.buffer($0)] } ?? []) + (outScale.map { [KernelArg.buffer($0)] } ?? [])
    }

    /// `choice` for the direct kernels: nil (their heuristics) for a Winograd choice, which reaches them only for a shape
    /// Winograd does not apply to (a tuning-table class can hold both, e.g. padding 0 and 1).
    static func directChoice(_ choice: KernelChoice?) -> KernelChoice? { choice?.algorithm?.winogradBlock != nil ? nil : choice }

    /// The conv tile of `choice` (nil when there is no choice); throws when the choice is not a conv one.
    static func convTile(_ choice: KernelChoice?, _ op: String) throws -> ConvTile? {
        guard let choice else { return nil }
        guard let tile = choice.conv, choice.splits >= 1 else {
            throw EngineError.shapeMismatch(op: op, detail: "configuration \(choice) is not a conv tile with splits >= 1")
        }
        return tile
    }

    /// K splits actually used for `requested` splits of a `depth`-long reduction in steps of `tk`: each split's
    /// chunk is a multiple of `tk` (so no K-step straddles two splits) and no split is empty.
    static func kSplits(requested: Int, depth: Int, tk: Int) -> (splits: Int, chunk: Int) {
        let wanted = max(1, min(requested, (depth + tk - 1) / tk))
        let chunk = (depth + wanted * tk - 1) / (wanted * tk) * tk
        return ((depth + chunk - 1) / chunk, chunk)
    }

    /// The heuristic number of K splits of a conv kernel (forward, grad-input, grad-weight): enough work-groups for
    /// two per compute unit when the `tiles` alone cannot fill the device (the 4×4 and 8×8 layers on a GPU), each
    /// split still at least 8 K-steps of a `depth`-long reduction, at most 64.
    public static func defaultKSplits(tiles: Int, depth: Int, tk: Int, computeUnits: Int) -> Int {
        let wanted = (2 * max(1, computeUnits) + tiles - 1) / max(1, tiles)
        let longest = max(1, depth / (8 * tk))
        return max(1, min(wanted, longest, 64))
    }
}
