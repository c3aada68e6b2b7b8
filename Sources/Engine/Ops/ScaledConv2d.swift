// Convolution with per-(sample, channel) scales on its input and output channels, over
// `Backend.scaledConv2d*` (conv2d.cl with -D IN_SCALE / -D OUT_SCALE), with VJPs: the building block of
// the non-fused StyleGAN2 modulated convolution (NVlabs `modulated_conv2d` with `fused_modconv=False`).
//
// The two ops are each other's adjoints in x, like conv2d and conv2dGradInput:
//   scaledConv2d           y[n,o]  = b[n,o]·Σ_{c,k} w[o,c,k]·a[n,c]·x[n,c,…]
//   scaledConv2dGradInput  dx[n,c] = a[n,c]·Σ_{o,k} w[o,c,k]·b[n,o]·dy[n,o,…]
// with a = inScale `[N, C]` and b = outScale `[N, O]` (C, O the channels of the convolution whose adjoint
// the second op is). Without autograd recording the VJPs run the fused kernels; while recording (double
// backward) they are compositions of conv2d, conv2dGradInput, conv2dGradWeight, channelDot and elementwise ops, so
// they can be differentiated again.

extension Tensor {
    /// Validates the optional `[N, C]` / `[N, O]` scales of a scaled convolution of shape `s`.
    static func checkScales(_ op: String, _ s: Conv2dShape, inScale: Tensor?, outScale: Tensor?) throws {
        if let inScale, inScale.shape != [s.batch, s.inChannels] {
            throw EngineError.shapeMismatch(op: op, detail: "inScale \(inScale.shape), need [\(s.batch), \(s.inChannels)] for \(s)")
        }
        if let outScale, outScale.shape != [s.batch, s.outChannels] {
            throw EngineError.shapeMismatch(op: op, detail: "outScale \(outScale.shape), need [\(s.batch), \(s.outChannels)] for \(s)")
        }
    }

    /// Scaled convolution (groups 1):
    /// 1. x'[n,c] = x[n,c]·inScale[n,c];
    /// 2. y0 = conv2d(x', weight) — one weight for the whole batch;
    /// 3. y[n,o] = y0[n,o]·outScale[n,o].
    /// A nil scale is 1. One kernel launch on OpenCL. The VJP divides by outScale (Σ g·y / outScale gives
    /// its gradient), so outScale must have no zeros (StyleGAN2's demodulation coefficients are > 0).
    /// x `[N, C, H, W]`, weight `[O, C, kh, kw]`, inScale `[N, C]`, outScale `[N, O]` → `[N, O, outH, outW]`.
    public static func scaledConv2d(_ x: Tensor, weight: Tensor, inScale: Tensor?, outScale: Tensor?,
                                    stride: Int = 1, padding: Int = 0) throws -> Tensor {
        let s = try conv2dShape(input: x.shape, weight: weight.shape, stride: stride, padding: padding, groups: 1)
        try checkScales("scaledConv2d", s, inScale: inScale, outScale: outScale)
        let out = try Tensor.empty([s.batch, s.outChannels, s.outHeight, s.outWidth], on: x.backend)
        try Profiler.measure("scaledConv2d", x.backend) {
            try x.backend.scaledConv2d(s, input: x.buffer, weight: weight.buffer, inScale: inScale?.buffer,
                                       outScale: outScale?.buffer, output: out.buffer)
        }
        let inputs = [x, weight] + [inScale, outScale].compactMap { $0 }
        return out.recorded("scaledConv2d", inputs) { g in
            let need = ScaledConvNeeds(inScale: inScale != nil, outScale: outScale != nil)
            if Autograd.isRecording {
                return try scaledConv2dVJP(x, weight: weight, inScale: inScale, outScale: outScale, stride: stride,
                                           padding: padding, gradient: g, need: need)
            }
            // Fused: the scales ride in the grad-input / grad-weight loads and stores.
            var dx: Tensor?, dw: Tensor?, da: Tensor?, db: Tensor?
            if need.x || need.inScale {
                if need.inScale, let inScale {
                    let t = try scaledGradInputKernel(g, weight: weight, shape: s, inScale: nil, outScale: outScale)
                    da = try channelDot(t, x)
                    if need.x { dx = try t * inScale.reshaped([s.batch, s.inChannels, 1, 1]) }
                } else {
                    dx = try scaledGradInputKernel(g, weight: weight, shape: s, inScale: inScale, outScale: outScale)
                }
            }
            if need.weight { dw = try scaledGradWeightKernel(x, gradOutput: g, shape: s, inScale: inScale, outScale: outScale) }
            if need.outScale, let outScale { db = try channelDot(g, out, dividedBy: outScale) }
            return need.gradients(dx, dw, da, db)
        }
    }

    /// Scaled transposed convolution, the input gradient of `scaledConv2d` (groups 1):
    /// 1. dy'[n,o] = dy[n,o]·outScale[n,o];
    /// 2. t = conv2dGradInput(dy', weight) of shape `inputShape` — one weight for the whole batch;
    /// 3. dx[n,c] = t[n,c]·inScale[n,c].
    /// A nil scale is 1. With stride 2 and padding 0 it is the stride-2 transposed convolution of the
    /// StyleGAN2 up-sampling layer. The VJP divides by inScale, so inScale must have no zeros.
    /// dy `[N, O, outH, outW]`, weight `[O, C, kh, kw]`, inScale `[N, C]`, outScale `[N, O]` → `inputShape` `[N, C, H, W]`.
    public static func scaledConv2dGradInput(_ dy: Tensor, weight: Tensor, inputShape: [Int], inScale: Tensor?,
                                             outScale: Tensor?, stride: Int = 1, padding: Int = 0) throws -> Tensor {
        let s = try conv2dShape(input: inputShape, weight: weight.shape, stride: stride, padding: padding, groups: 1)
        guard dy.shape == [s.batch, s.outChannels, s.outHeight, s.outWidth] else {
            throw EngineError.shapeMismatch(op: "scaledConv2dGradInput", detail: "dy \(dy.shape) for \(s)")
        }
        try checkScales("scaledConv2dGradInput", s, inScale: inScale, outScale: outScale)
        let out = try scaledGradInputKernel(dy, weight: weight, shape: s, inScale: inScale, outScale: outScale)
        let inputs = [dy, weight] + [inScale, outScale].compactMap { $0 }
        return out.recorded("scaledConv2dGradInput", inputs) { g in
            let need = ScaledConvNeeds(inScale: inScale != nil, outScale: outScale != nil)
            if Autograd.isRecording {
                return try scaledConv2dGradInputVJP(dy, weight: weight, inScale: inScale, outScale: outScale, shape: s,
                                                    gradient: g, need: need)
            }
            var ddy: Tensor?, dw: Tensor?, da: Tensor?, db: Tensor?
            if need.x || need.outScale {
                if need.outScale, let outScale {
                    let t = try scaledForwardKernel(g, weight: weight, shape: s, inScale: inScale, outScale: nil)
                    db = try channelDot(t, dy)
                    if need.x { ddy = try t * outScale.reshaped([s.batch, s.outChannels, 1, 1]) }
                } else {
                    ddy = try scaledForwardKernel(g, weight: weight, shape: s, inScale: inScale, outScale: outScale)
                }
            }
            if need.weight { dw = try scaledGradWeightKernel(g, gradOutput: dy, shape: s, inScale: inScale, outScale: outScale) }
            if need.inScale, let inScale { da = try channelDot(g, out, dividedBy: inScale) }
            return need.gradients(ddy, dw, da, db)
        }
    }

    // MARK: - Differentiable VJPs (double backward)

    /// Gradients (x, weight, inScale?, outScale?) of `scaledConv2d` from conv2d ops and elementwise ops.
    static func scaledConv2dVJP(_ x: Tensor, weight: Tensor, inScale: Tensor?, outScale: Tensor?, stride: Int, padding: Int,
                                gradient g: Tensor, need: ScaledConvNeeds) throws -> [Tensor?] {
        let (n, c, o) = (x.shape[0], x.shape[1], weight.shape[0])
        let a4 = try inScale?.reshaped([n, c, 1, 1]), b4 = try outScale?.reshaped([n, o, 1, 1])
        let gb = try b4.map { try g * $0 } ?? g
        let xa = try a4.map { try x * $0 } ?? x
        var dx: Tensor?, dw: Tensor?, da: Tensor?, db: Tensor?
        if need.x || need.inScale {
            let t = try conv2dGradInput(gb, weight: weight, inputShape: x.shape, stride: stride, padding: padding)
            if need.x { dx = try a4.map { try t * $0 } ?? t }
            if need.inScale { da = try channelDot(t, x) }
        }
        if need.weight { dw = try conv2dGradWeight(xa, gradOutput: gb, weightShape: weight.shape, stride: stride, padding: padding) }
        if need.outScale { db = try channelDot(g, conv2d(xa, weight: weight, stride: stride, padding: padding)) }
        return need.gradients(dx, dw, da, db)
    }

    /// Gradients (dy, weight, inScale?, outScale?) of `scaledConv2dGradInput` from conv2d ops and elementwise ops.
    static func scaledConv2dGradInputVJP(_ dy: Tensor, weight: Tensor, inScale: Tensor?, outScale: Tensor?, shape s: Conv2dShape,
                                         gradient g: Tensor, need: ScaledConvNeeds) throws -> [Tensor?] {
        let a4 = try inScale?.reshaped([s.batch, s.inChannels, 1, 1]), b4 = try outScale?.reshaped([s.batch, s.outChannels, 1, 1])
        let ga = try a4.map { try g * $0 } ?? g
        let dyb = try b4.map { try dy * $0 } ?? dy
        var ddy: Tensor?, dw: Tensor?, da: Tensor?, db: Tensor?
        if need.x || need.outScale {
            let t = try conv2d(ga, weight: weight, stride: s.stride, padding: s.padH)
            if need.x { ddy = try b4.map { try t * $0 } ?? t }
            if need.outScale { db = try channelDot(t, dy) }
        }
        if need.weight { dw = try conv2dGradWeight(ga, gradOutput: dyb, weightShape: weight.shape, stride: s.stride, padding: s.padH) }
        if need.inScale {
            let t = try conv2dGradInput(dyb, weight: weight, inputShape: g.shape, stride: s.stride, padding: s.padH)
            da = try channelDot(g, t)
        }
        return need.gradients(ddy, dw, da, db)
    }

    // MARK: - Kernel calls (no VJP: used by the forward above and by the non-recording VJPs)

    /// `Backend.scaledConv2d` into a new tensor.
    static func scaledForwardKernel(_ x: Tensor, weight: Tensor, shape s: Conv2dShape, inScale: Tensor?, outScale: Tensor?) throws -> Tensor {
        let out = try Tensor.empty([s.batch, s.outChannels, s.outHeight, s.outWidth], on: x.backend)
        try Profiler.measure("scaledConv2d", x.backend) {
            try x.backend.scaledConv2d(s, input: x.buffer, weight: weight.buffer, inScale: inScale?.buffer,
                                       outScale: outScale?.buffer, output: out.buffer)
        }
        return out
    }

    /// `Backend.scaledConv2dGradInput` into a new tensor `[N, C, H, W]`.
    static func scaledGradInputKernel(_ dy: Tensor, weight: Tensor, shape s: Conv2dShape, inScale: Tensor?, outScale: Tensor?) throws -> Tensor {
        let out = try Tensor.empty([s.batch, s.inChannels, s.height, s.width], on: dy.backend)
        try Profiler.measure("scaledConv2dGradInput", dy.backend) {
            try dy.backend.scaledConv2dGradInput(s, gradOutput: dy.buffer, weight: weight.buffer, inScale: inScale?.buffer,
                                                 outScale: outScale?.buffer, gradInput: out.buffer)
        }
        return out
    }

    /// `Backend.scaledConv2dGradWeight` into a new tensor `[O, C, kh, kw]`.
    static func scaledGradWeightKernel(_ x: Tensor, gradOutput dy: Tensor, shape s: Conv2dShape, inScale: Tensor?,
                                       outScale: Tensor?) throws -> Tensor {
        let out = try Tensor.empty([s.outChannels, s.inChannels, s.kernelH, s.kernelW], on: x.backend)
        try Profiler.measure("scaledConv2dGradWeight", x.backend) {
            try x.backend.scaledConv2dGradWeight(s, input: x.buffer, gradOutput: dy.buffer, inScale: inScale?.buffer,
                                                 outScale: outScale?.buffer, gradWeight: out.buffer)
        }
        return out
    }
}

/// Which inputs of a scaled convolution (data, weight, inScale?, outScale?) need a gradient, in the order the
/// op records them (absent scales are not inputs).
struct ScaledConvNeeds {
    let hasInScale: Bool, hasOutScale: Bool
    let x: Bool, weight: Bool, inScale: Bool, outScale: Bool

    init(inScale hasIn: Bool, outScale hasOut: Bool) {
        hasInScale = hasIn
        hasOutScale = hasOut
        x = Autograd.needsGradient(0)
        weight = Autograd.needsGradient(1)
        inScale = hasIn && Autograd.needsGradient(2)
        outScale = hasOut && Autograd.needsGradient(hasIn ? 3 : 2)
    }

    /// The gradients in input order, dropping those of absent scales.
    func gradients(_ dx: Tensor?, _ dw: Tensor?, _ dIn: Tensor?, _ dOut: Tensor?) -> [Tensor?] {
        var out: [Tensor?] = [dx, dw]
        if hasInScale { out.append(dIn) }
        if hasOutScale { out.append(dOut) }
        return out
    }
}
