// bias_act on the OpenCL backend (bias_act.cl). Semantics: BiasActShape+Validate.swift.
extension OpenCLBackend {
    public func biasAct(_ shape: BiasActShape, x: any Buffer, bias: (any Buffer)?, noise: (any Buffer)?, noiseStrength: (any Buffer)?,
                        y: any Buffer) throws {
        try shape.validate("biasAct", hasBias: bias != nil, buffers: [x, y], bias: bias, noise: (noise, noiseStrength))
        let options = "-D ACT=\(shape.activation.rawValue) -D HAS_BIAS=\(bias == nil ? 0 : 1) -D HAS_NOISE=\(noise == nil ? 0 : 1)"
        try launch("bias_act", "bias_act_fwd", options: options, global: [shape.count], local: [Self.localSize1D],
                   [.buffer(x), .buffer(bias ?? x), .buffer(y), .int(shape.count), .int(max(shape.channels, 1)),
                    .int(max(shape.inner, 1)), .float(shape.alpha), .float(shape.gain), .float(shape.clamp),
                    .buffer(noise ?? x), .buffer(noiseStrength ?? x), .int(shape.noiseStride)])
    }

    public func biasActGrad(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer) throws {
        try shape.validate("biasActGrad", hasBias: false, buffers: [gradY, y, gradX])
        try launch("bias_act", "bias_act_grad", options: "-D ACT=\(shape.activation.rawValue)",
                   global: [shape.count], local: [Self.localSize1D],
                   [.buffer(gradY), .buffer(y), .buffer(gradX), .int(shape.count),
                    .float(shape.alpha), .float(shape.gain), .float(shape.clamp)])
    }
}
