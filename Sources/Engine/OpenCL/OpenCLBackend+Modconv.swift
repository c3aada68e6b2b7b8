// StyleGAN2 weight modulation of the OpenCL backend (modconv.cl).
extension OpenCLBackend {
    /// Work-items per work-group of the modconv row kernels (`WG` in modconv.cl).
    static let modconvGroup = 256

    public func modulateWeights(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, modulated: any Buffer) throws {
        try shape.validateForward(weight: weight, styles: styles, modulated: modulated)
        let wg = Self.modconvGroup
        try launch("modconv", "modulate_fwd", global: [shape.batch * shape.outChannels * wg], local: [wg],
                   [.buffer(weight), .buffer(styles), .buffer(modulated), .int(shape.outChannels), .int(shape.inChannels),
                    .int(shape.kernelSize), .int(shape.demodulate ? 1 : 0), .float(shape.epsilon)])
    }

    public func modulateWeightsBackward(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer,
                                        gradModulated: any Buffer, gradWeight: any Buffer, gradStyles: any Buffer) throws {
        let N = shape.batch, O = shape.outChannels, I = shape.inChannels, K = shape.kernelSize
        try shape.validateBackward(weight: weight, styles: styles, gradModulated: gradModulated,
                                   gradWeight: gradWeight, gradStyles: gradStyles)
        let wg = Self.modconvGroup
        // 1. d and c per (n, o) row.
        let stats = try allocate(2 * N * O)
        try launch("modconv", "modulate_bwd_rows", global: [N * O * wg], local: [wg],
                   [.buffer(weight), .buffer(styles), .buffer(gradModulated), .buffer(stats), .int(O), .int(I), .int(K),
                    .int(shape.demodulate ? 1 : 0), .float(shape.epsilon)])
        // 2. dw, reducing over n; ds, reducing over (o, k).
        try launch("modconv", "modulate_bwd_weight", global: [shape.weightCount], local: [Self.localSize1D],
                   [.buffer(weight), .buffer(styles), .buffer(gradModulated), .buffer(stats), .buffer(gradWeight),
                    .int(N), .int(O), .int(I), .int(K)])
        try launch("modconv", "modulate_bwd_styles", global: [N * I * wg], local: [wg],
                   [.buffer(weight), .buffer(styles), .buffer(gradModulated), .buffer(stats), .buffer(gradStyles),
                    .int(O), .int(I), .int(K)])
    }

    public func demodulation(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, coefficients: any Buffer) throws {
        try shape.validateDemodulation("demodulation", weight: weight, styles: styles, coefficients: coefficients)
        let wg = Self.modconvGroup
        try launch("modconv", "demodulate_fwd", global: [shape.batch * shape.outChannels * wg], local: [wg],
                   [.buffer(weight), .buffer(styles), .buffer(coefficients), .int(shape.outChannels), .int(shape.inChannels),
                    .int(shape.kernelSize), .float(shape.epsilon)])
    }

    public func demodulationBackward(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, coefficients: any Buffer,
                                     gradCoefficients: any Buffer, gradWeight: any Buffer, gradStyles: any Buffer) throws {
        try shape.validateDemodulation("demodulationBackward", weight: weight, styles: styles, coefficients: coefficients,
                                       gradients: (gradCoefficients, gradWeight, gradStyles))
        let (N, O, I, K) = (shape.batch, shape.outChannels, shape.inChannels, shape.kernelSize)
        try launch("modconv", "demodulate_bwd_weight", global: [shape.weightCount], local: [Self.localSize1D],
                   [.buffer(weight), .buffer(styles), .buffer(coefficients), .buffer(gradCoefficients), .buffer(gradWeight),
                    .int(N), .int(O), .int(I), .int(K)])
        try launch("modconv", "demodulate_bwd_styles", global: [N * I * Self.modconvGroup], local: [Self.modconvGroup],
                   [.buffer(weight), .buffer(styles), .buffer(coefficients), .buffer(gradCoefficients), .buffer(gradStyles),
                    .int(O), .int(I), .int(K)])
    }
}
