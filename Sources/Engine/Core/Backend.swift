/// Memory owned by one backend: `count` float32 elements. Freed (or returned to the backend's pool)
/// when the last reference goes away.
public protocol Buffer: AnyObject, Sendable {
    var count: Int { get }
}

/// A compute backend: allocation, host<->device copies and one method per primitive kernel
/// (DESIGN.md section 4). Implementations: `CPUBackend` (Swift SIMD, Dispatch threads) and
/// `OpenCLBackend`. Op code never switches on the backend; it calls these methods.
///
/// All buffers passed in must have been allocated by the same backend. Outputs are fully written
/// (no method reads an output's previous contents unless its documentation says so, e.g. `gemm` with
/// `beta != 0`). Calls are ordered: a later call sees the results of an earlier one.
public protocol Backend: AnyObject, Sendable {
    /// Description of the device this backend runs on.
    var info: DeviceInfo { get }

    // MARK: - Memory

    /// Allocates `count` uninitialised floats.
    func allocate(_ count: Int) throws -> any Buffer
    /// Copies `values` into `buffer[offset ..< offset + values.count]`.
    func upload(_ values: UnsafeBufferPointer<Float>, to buffer: any Buffer, offset: Int) throws
    /// Copies `buffer[offset ..< offset + into.count]` to host memory.
    func download(_ buffer: any Buffer, offset: Int, into: UnsafeMutableBufferPointer<Float>) throws
    /// Blocks until all submitted work has finished.
    func synchronize() throws
    /// Bytes held by buffers in use plus the backend's reuse pool.
    var allocatedBytes: Int { get }
    /// Kernels enqueued since the backend was created; nil where work is not launched as device kernels
    /// (the CPU backend).
    var kernelLaunches: Int? { get }
    /// How `gemm` and the convolutions multiply (fp32 unless a backend was asked for TF32 and can do it).
    var matmulArithmetic: MatmulArithmetic { get }
    /// Which algorithm picks the convolutions' method (direct or Winograd; `HISTOGAN_CONV_ALGORITHM`).
    var convAlgorithm: ConvAlgorithmPolicy { get }

    // MARK: - Elementwise (elementwise.cl)

    /// `out[i] = value` for `i < count`.
    func fill(_ out: any Buffer, count: Int, value: Float) throws
    /// `out[i] = op(x[i])` for `i < count`. `out` may be `x`.
    func unary(_ op: UnaryOp, _ x: any Buffer, _ out: any Buffer, count: Int) throws
    /// `out[idx] = op(a[idx], b[idx])` over `shape` (contiguous output), reading each input through its
    /// strides (stride 0 broadcasts).
    func binary(_ op: BinaryOp, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws
    /// `out[idx] = cond[idx] > 0 ? a[idx] : b[idx]` over `shape`, inputs read through their strides.
    func select(_ cond: StridedView, _ a: StridedView, _ b: StridedView, _ out: any Buffer, shape: [Int]) throws

    // MARK: - Reductions (reduce.cl)

    /// Reduces `x` (contiguous, `shape`) over `axes`; `out` is contiguous with the reduced axes of size 1.
    func reduce(_ op: ReduceOp, _ x: any Buffer, shape: [Int], axes: [Int], _ out: any Buffer) throws
    /// `out[r] = Σ_j a[r·length + j]·b[r·length + j]`, divided by `divisor[r]` when given, for r < rows.
    func rowDot(rows: Int, length: Int, _ a: any Buffer, _ b: any Buffer, divisor: (any Buffer)?, _ out: any Buffer) throws

    // MARK: - Layout (layout.cl)

    /// `dst[dst.offset + Σ idx·dst.strides] = src[src.offset + Σ idx·src.strides]` for every index of
    /// `shape`. Permute, slice, concat, expand and repeat are all this one copy.
    func copy(_ src: StridedView, to dst: StridedView, shape: [Int]) throws

    // MARK: - Matrix multiply (gemm.cl)

    /// `C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b]` for each batch item `b` (row-major; see `GemmShape`).
    func gemm(_ shape: GemmShape, a: any Buffer, b: any Buffer, c: any Buffer) throws

    // MARK: - Convolution (conv2d.cl)
    // Every convolution, plain or scaled, uses the weight times `shape.weightGain` (γ below), applied to its result.

    /// `y = conv2d(x, γ·w)` (cross-correlation, no bias). x `[N, C, H, W]`, w `[O, C/groups, kh, kw]`,
    /// y `[N, O, outH, outW]`.
    func conv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, output: any Buffer) throws
    /// `dx = ∂(Σ dy·conv2d(x, γ·w))/∂x` — the transposed convolution of `dy` with `γ·w`.
    func conv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, gradInput: any Buffer) throws
    /// `dw = ∂(Σ dy·conv2d(x, γ·w))/∂w` = γ·corr(x, dy).
    func conv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, gradWeight: any Buffer) throws

    // MARK: - Scaled convolution (conv2d.cl with -D IN_SCALE / -D OUT_SCALE)

    /// `y[n,o] = outScale[n,o]·Σ_{c,ky,kx} w[o,c,ky,kx]·inScale[n,c]·x[n,c,…]` (the non-fused StyleGAN2 modconv);
    /// a nil scale is 1. inScale `[N, C]`, outScale `[N, O]`, other shapes as `conv2d`.
    func scaledConv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                      outScale: (any Buffer)?, output: any Buffer) throws
    /// `dx[n,c] = inScale[n,c]·conv2dGradInput(outScale[n,o]·dy[n,o], w)[n,c]`: the input gradient of
    /// `conv2d` followed by `biasAct` on its output (groups, stride, padding as `conv2d`; bias `[O]` or nil; `act`
    /// the bias_act layout of the output `[N, O, outH·outW]`, without noise): y = clamp(act(conv + b[o])·gain).
    /// OpenCL applies the bias_act in the conv kernel's store (one launch, one pass) with the same bits as the two
    /// ops; the default runs the two.
    func conv2dBiasAct(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, bias: (any Buffer)?, act: BiasActShape,
                       output: any Buffer) throws
    /// `scaledConv2d` with the same scales. inScale `[N, C]`, outScale `[N, O]`.
    func scaledConv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, inScale: (any Buffer)?,
                               outScale: (any Buffer)?, gradInput: any Buffer) throws
    /// `dw = conv2dGradWeight(inScale[n,c]·x[n,c], outScale[n,o]·dy[n,o])`, summed over the batch: the weight
    /// gradient of `scaledConv2d` with the same scales. inScale `[N, C]`, outScale `[N, O]`.
    func scaledConv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, inScale: (any Buffer)?,
                                outScale: (any Buffer)?, gradWeight: any Buffer) throws

    // MARK: - Modulated convolution weights (modconv.cl)

    /// StyleGAN2 weight modulation: `w'[n,o,i,k] = w[o,i,k]·s[n,i]·d[n,o]` with
    /// `d[n,o] = rsqrt(Σ_{i,k} (w[o,i,k]·s[n,i])² + 1e-8)` when demodulating, else 1.
    /// weight `[O, I, K]`, styles `[N, I]`, modulated `[N, O, I, K]`.
    func modulateWeights(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, modulated: any Buffer) throws
    /// Gradients of `modulateWeights` w.r.t. weight `[O, I, K]` and styles `[N, I]` given
    /// `gradModulated` `[N, O, I, K]`.
    func modulateWeightsBackward(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer,
                                 gradModulated: any Buffer, gradWeight: any Buffer, gradStyles: any Buffer) throws
    /// The demodulation coefficients alone (split modconv): `d[n,o] = rsqrt(Σ_{i,k} (w[o,i,k]·s[n,i])² + ε)`.
    /// weight `[O, I, K]`, styles `[N, I]`, coefficients `[N, O]`.
    func demodulation(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, coefficients: any Buffer) throws
    /// Gradients of `demodulation` given its output d and `gradCoefficients` gd, with t = gd·d³:
    /// `ds[n,i] = −s[n,i]·Σ_{o,k} t[n,o]·w[o,i,k]²`, `dw[o,i,k] = −w[o,i,k]·Σ_n t[n,o]·s[n,i]²`.
    func demodulationBackward(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, coefficients: any Buffer,
                              gradCoefficients: any Buffer, gradWeight: any Buffer, gradStyles: any Buffer) throws

    // MARK: - FIR resampling (upfirdn2d.cl)

    /// NVlabs `upfirdn2d`: upsample by zero insertion, pad (negative crops), correlate with the
    /// (optionally flipped) 2-D filter `[fh, fw]`, multiply by gain, downsample. x `[N, inH, inW]`
    /// (N = batch·channels), y `[N, outH, outW]`.
    func upfirdn2d(_ shape: Upfirdn2dShape, input: any Buffer, filter: any Buffer, output: any Buffer) throws

    // MARK: - Bias + activation (bias_act.cl)

    /// `y = clamp(act(x + noise[n·noiseStride + p]·strength[0] + b[c]) · gain, -clamp, clamp)`,
    /// c = (i / inner) % channels, n = i / (channels·inner), p = i % inner; the noise term only when
    /// `shape.noise` is set (then `noise` and `noiseStrength` are given; see BiasActShape+Validate.swift).
    func biasAct(_ shape: BiasActShape, x: any Buffer, bias: (any Buffer)?, noise: (any Buffer)?, noiseStrength: (any Buffer)?,
                 y: any Buffer) throws
    /// `dx = dy · act'(·) · gain · [|y| < clamp]`, with the activation slope taken from the sign of `y`.
    /// Linear in `dy`, so it is also its own VJP w.r.t. `dy`; its derivative w.r.t. `x` is zero for
    /// both supported activations (piecewise linear).
    func biasActGrad(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer) throws
    /// `biasActGrad` into `gradX` and the bias's gradient `gradBias[c] = Σ_{o,i} gradX[o, c, i]` over
    /// `shape.reductionShape`. OpenCL: one pass that writes dx as it sums (a launch and a read of dx fewer).
    func biasActGradSum(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer, gradBias: any Buffer) throws

    // MARK: - RGB-uv histogram (histogram.cl)

    /// HistoGAN's soft RGB-uv histogram (DESIGN.md section 6) of every image of `image`
    /// `[N, 3, H, W]` into `output` `[N, 3, bins, bins]`: clamp to [0, 1], reduce when larger than
    /// `maxSize`, bin every pixel's (u, v) per channel weighted by its intensity `Iy`, and divide each
    /// image's histogram by (its total + 1e-6).
    func rgbuvHistogram(_ shape: HistogramShape, image: any Buffer, output: any Buffer) throws
    /// The gradient `gradImage` `[N, 3, H, W]` of `Σ gradOutput·rgbuvHistogram(image)` w.r.t. `image`,
    /// given the forward result `histogram` `[N, 3, bins, bins]`. Zero where the clamp is active.
    func rgbuvHistogramBackward(_ shape: HistogramShape, image: any Buffer, histogram: any Buffer,
                                gradOutput: any Buffer, gradImage: any Buffer) throws

    // MARK: - Batch normalisation (batch_norm.cl)

    /// Per-channel `mean[c]` and biased variance `variance[c] = Σ (x − mean[c])² / n` of x `[outer, channels,
    /// inner]` over the outer and inner axes (n = outer·inner).
    func batchNormStatistics(_ shape: BatchNormShape, x: any Buffer, mean: any Buffer, variance: any Buffer) throws
    /// `y = (x − mean[c])·rsqrt(variance[c] + eps)·gamma[c] + beta[c]` over x `[outer, channels, inner]`.
    func batchNormApply(_ shape: BatchNormShape, x: any Buffer, mean: any Buffer, variance: any Buffer,
                        gamma: any Buffer, beta: any Buffer, y: any Buffer) throws

    // MARK: - Log-softmax (log_softmax.cl)

    /// `y[r, k] = x[r, k] − m_r − log Σ_j exp(x[r, j] − m_r)`, `m_r = max_j x[r, j]`, for x, y `[rows, classes]`.
    func logSoftmax(rows: Int, classes: Int, x: any Buffer, y: any Buffer) throws

    // MARK: - Minibatch standard deviation (minibatch_stddev.cl)

    /// StyleGAN2's minibatch stddev with one feature: `y[n, :C] = x[n]`, `y[n, C] = f_m` for sample n = k·M + m of
    /// group m, `f_m = mean_i sqrt(var_k x[kM+m, i] + ε)` over the C·H·W elements i. x `[N, C, H, W]`, y `[N, C+1, H, W]`.
    func minibatchStddev(_ shape: MinibatchStddevShape, x: any Buffer, y: any Buffer) throws
    /// Its VJP: `dx[kM+m, i] = dy[kM+m, i] + d_m·(x[kM+m, i] − μ_i)/(G·C·H·W·s_i)`, d_m = Σ dy[kM+m, C, ·, ·] over k and
    /// the pixels, μ_i and s_i the group's mean and sqrt(var + ε) of element i.
    func minibatchStddevBackward(_ shape: MinibatchStddevShape, x: any Buffer, gradOutput: any Buffer, gradInput: any Buffer) throws

    // MARK: - Random numbers (random.cl)

    /// Fills `out[0..<count]` from Philox4x32-10 keyed by `seed`, element `i` taken from counter block
    /// `offset + i/4`, lane `i%4`. Same seed and offset give the same numbers on every backend.
    func random(_ distribution: RandomDistribution, seed: UInt64, offset: UInt64, _ out: any Buffer, count: Int) throws

    // MARK: - Optimizer (optimizer.cl)

    /// One fused Adam step (see `AdamStep`) over the first `count` elements of every slot; updates param, m, v
    /// in place. OpenCL runs up to 16 tensors per launch.
    func adamStep(_ step: AdamStep, _ slots: [AdamSlot]) throws
    /// EMA update in place for every slot: `ema = param + (ema - param)·beta` (NVlabs `p.lerp(ema, beta)`).
    /// OpenCL runs up to 16 tensors per launch.
    func emaUpdate(_ slots: [EMASlot], beta: Float) throws
}

extension Backend {
    /// `adamStep` of one tensor.
    public func adamStep(_ step: AdamStep, param: any Buffer, grad: any Buffer, m: any Buffer, v: any Buffer, count: Int) throws {
        try adamStep(step, [AdamSlot(param: param, grad: grad, m: m, v: v, count: count)])
    }

    /// `conv2dBiasAct` as the two primitives: the convolution, then `biasAct` in place on its output.
    public func conv2dBiasAct(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, bias: (any Buffer)?, act: BiasActShape,
                              output: any Buffer) throws {
        try conv2d(shape, input: input, weight: weight, output: output)
        try biasAct(act, x: output, bias: bias, y: output)
    }

    /// `biasActGradSum` as the two primitives: `biasActGrad`, then `reduce` (the same sum, and on the CPU backend the
    /// same bits, as `Tensor.sum` over every axis but the channels).
    public func biasActGradSum(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer,
                               gradBias: any Buffer) throws {
        try biasActGrad(shape, gradY: gradY, y: y, gradX: gradX)
        try reduce(.sum, gradX, shape: shape.reductionShape, axes: [0, 2], gradBias)
    }

    /// `biasAct` without noise.
    public func biasAct(_ shape: BiasActShape, x: any Buffer, bias: (any Buffer)?, y: any Buffer) throws {
        try biasAct(shape, x: x, bias: bias, noise: nil, noiseStrength: nil, y: y)
    }

    /// `emaUpdate` of one tensor.
    public func emaUpdate(_ ema: any Buffer, toward param: any Buffer, beta: Float, count: Int) throws {
        try emaUpdate([EMASlot(ema: ema, param: param, count: count)], beta: beta)
    }
}

extension Backend {
    /// No kernel launches to count (backends that run primitives as host code).
    public var kernelLaunches: Int? { nil }
    /// fp32 (backends without a TF32 path).
    public var matmulArithmetic: MatmulArithmetic { .fp32 }
    /// direct (backends without Winograd).
    public var convAlgorithm: ConvAlgorithmPolicy { .direct }
}
