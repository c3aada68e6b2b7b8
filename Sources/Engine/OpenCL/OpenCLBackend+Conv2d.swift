// Convolution of the OpenCL backend (conv2d.cl): implicit GEMMs specialised by `-D` on kernel size,
// stride and tile shape. See conv2d.cl for the index maps.
// The scaled forms (`-D IN_SCALE`, `-D OUT_SCALE`) are the same launches with the scale buffers appended.
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
        try shape.validate("conv2d", input: input, weight: weight, output: output)
        try shape.validateScales("scaledConv2d", inScale: inScale, outScale: outScale)
        let rows = shape.outChannels / shape.groups, cols = shape.batch * shape.outHeight * shape.outWidth
        let tile = ConvTile.choose(rows: rows, cols: cols)
        try launch("conv2d", "conv2d_fwd", options: tile.options(shape, unroll: device.isGPU) + Self.scaleOptions(inScale, outScale),
                   global: [tile.tiles(cols, tile.tn) * tile.threads, tile.tiles(rows, tile.tm), shape.groups],
                   local: [tile.threads, 1, 1],
                   [.buffer(input), .buffer(weight), .buffer(output)] + Self.convArgs(shape) + Self.scaleArgs(inScale, outScale))
    }

    public func scaledConv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                                      outScale: (any Buffer)?, gradInput: any Buffer) throws {
        try shape.validate("conv2dGradInput", input: gradInput, weight: weight, output: gradOutput)
        try shape.validateScales("scaledConv2dGradInput", inScale: inScale, outScale: outScale)
        let rows = shape.inChannels / shape.groups
        let s = shape.stride
        // One launch per stride phase (py, px); together they write every pixel of dx exactly once.
        for py in 0..<min(s, shape.height) {
            for px in 0..<min(s, shape.width) {
                let cols = shape.batch * ((shape.height - py + s - 1) / s) * ((shape.width - px + s - 1) / s)
                let tile = ConvTile.choose(rows: rows, cols: cols)
                try launch("conv2d", "conv2d_grad_input",
                           options: tile.options(shape, unroll: device.isGPU) + Self.scaleOptions(inScale, outScale),
                           global: [tile.tiles(cols, tile.tn) * tile.threads, tile.tiles(rows, tile.tm), shape.groups],
                           local: [tile.threads, 1, 1],
                           [.buffer(gradOutput), .buffer(weight), .buffer(gradInput)] + Self.convArgs(shape)
                           + [.int(py), .int(px)] + Self.scaleArgs(inScale, outScale))
            }
        }
    }

    public func scaledConv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                                       outScale: (any Buffer)?, gradWeight: any Buffer) throws {
        try shape.validate("conv2dGradWeight", input: input, weight: gradWeight, output: gradOutput)
        try shape.validateScales("scaledConv2dGradWeight", inScale: inScale, outScale: outScale)
        let rows = shape.outChannels / shape.groups
        let cols = (shape.inChannels / shape.groups) * shape.kernelH * shape.kernelW
        let reduction = shape.batch * shape.outHeight * shape.outWidth
        let tile = ConvTile.choose(rows: rows, cols: cols)
        let tilesN = tile.tiles(cols, tile.tn), tilesM = tile.tiles(rows, tile.tm)
        // Split K when the tiles alone cannot fill the device; partial sums are added in a fixed order.
        let splits = Self.gradWeightSplits(tiles: tilesN * tilesM * shape.groups, reduction: reduction, tk: tile.tk,
                                           computeUnits: info.computeUnits)
        let chunk = tile.tiles(reduction, splits * tile.tk) * tile.tk
        let partial = splits > 1 ? try allocate(splits * shape.weightCount) : gradWeight
        try launch("conv2d", "conv2d_grad_weight",
                   options: tile.options(shape, unroll: device.isGPU) + Self.scaleOptions(inScale, outScale),
                   global: [tilesN * tile.threads, tilesM, shape.groups * splits], local: [tile.threads, 1, 1],
                   [.buffer(input), .buffer(gradOutput), .buffer(partial)] + Self.convArgs(shape)
                   + [.int(chunk), .int(splits > 1 ? shape.weightCount : 0)] + Self.scaleArgs(inScale, outScale))
        if splits > 1 {
            try launch("conv2d", "conv2d_sum_splits",
                       options: tile.options(shape, unroll: device.isGPU) + Self.scaleOptions(inScale, outScale),
                       global: [shape.weightCount], local: [Self.localSize1D],
                       [.buffer(partial), .buffer(gradWeight), .int(shape.weightCount), .int(splits)])
        }
    }

    /// N, C, H, W, O, outH, outW, G, padH, padW: the leading scalar arguments of every conv2d kernel.
    static func convArgs(_ s: Conv2dShape) -> [KernelArg] {
        [.int(s.batch), .int(s.inChannels), .int(s.height), .int(s.width), .int(s.outChannels),
         .int(s.outHeight), .int(s.outWidth), .int(s.groups), .int(s.padH), .int(s.padW)]
    }

    /// The `-D IN_SCALE` / `-D OUT_SCALE` build options for the scales present.
    static func scaleOptions(_ inScale: (any Buffer)?, _ outScale: (any Buffer)?) -> String {
        (inScale == nil ? "" : " -D IN_SCALE") + (outScale == nil ? "" : " -D OUT_SCALE")
    }

    /// The trailing scale arguments of a conv2d kernel: inScale, then outScale, each only when present.
    static func scaleArgs(_ inScale: (any Buffer)?, _ outScale: (any Buffer)?) -> [KernelArg] {
        (inScale.map { [KernelArg.buffer($0)] } ?? []) + (outScale.map { [KernelArg.buffer($0)] } ?? [])
    }

    /// Number of K splits for grad-weight: enough work-groups for two per compute unit, each split
    /// still at least 8 K-steps long.
    static func gradWeightSplits(tiles: Int, reduction: Int, tk: Int, computeUnits: Int) -> Int {
        let wanted = (2 * max(1, computeUnits) + tiles - 1) / tiles
        let longest = max(1, reduction / (8 * tk))
        return max(1, min(wanted, longest, 64))
    }
}

/// A tile configuration of the conv2d implicit GEMMs (the `RX, RY, VM, CM, VN, CN, TK` build options).
struct ConvTile: Hashable {
    var rx: Int, ry: Int, vm: Int, cm: Int, vn: Int, cn: Int, tk: Int

    var threads: Int { rx * ry }
    var tm: Int { ry * vm * cm }
    var tn: Int { rx * vn * cn }

    /// 128×128 tile, 8×8 per work-item: large channel counts.
    static let large = ConvTile(rx: 16, ry: 16, vm: 4, cm: 2, vn: 4, cn: 2, tk: 16)
    /// 64×64 tile, 4×4 per work-item.
    static let medium = ConvTile(rx: 16, ry: 16, vm: 4, cm: 1, vn: 4, cn: 1, tk: 16)
    /// 16×128 tile, 1×8 per work-item: few rows (toRGB, depthwise-like groups).
    static let thin = ConvTile(rx: 16, ry: 16, vm: 1, cm: 1, vn: 4, cn: 2, tk: 16)

    /// 64×16 tile, 4×4 per work-item, 64 work-items: many rows, few columns (4×4 and 4×8 feature maps).
    static let tall = ConvTile(rx: 4, ry: 16, vm: 4, cm: 1, vn: 4, cn: 1, tk: 16)

    /// The configuration for a `rows × cols` result matrix per group.
    static func choose(rows: Int, cols: Int) -> ConvTile {
        if rows <= 16 { return .thin }
        if cols <= 32 { return .tall }
        if rows >= 128 && cols >= 128 { return .large }
        return .medium
    }

    func tiles(_ extent: Int, _ size: Int) -> Int { (extent + size - 1) / size }

    /// Build options for `s`; `unroll` fully unrolls the K-step (GPUs).
    func options(_ s: Conv2dShape, unroll: Bool) -> String {
        "-D KH=\(s.kernelH) -D KW=\(s.kernelW) -D STRIDE=\(s.stride) -D TK=\(tk) -D RX=\(rx) -D RY=\(ry)"
            + " -D VM=\(vm) -D CM=\(cm) -D VN=\(vn) -D CN=\(cn)" + (unroll ? " -D UNROLL_K" : "")
    }
}
