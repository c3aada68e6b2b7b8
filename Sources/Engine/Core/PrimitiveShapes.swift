// Parameter values of the primitive kernels. Each is a plain value that both backends read the same way.

/// A buffer read through element strides, starting at `offset`. Rank ≤ `StridedView.maxRank`.
public struct StridedView: @unchecked Sendable {
    public static let maxRank = 8
    public var buffer: any Buffer
    public var offset: Int
    public var strides: [Int]

    public init(_ buffer: any Buffer, offset: Int = 0, strides: [Int]) {
        self.buffer = buffer
        self.offset = offset
        self.strides = strides
    }

    /// A contiguous row-major view of `shape`.
    public init(contiguous buffer: any Buffer, shape: [Int], offset: Int = 0) {
        self.init(buffer, offset: offset, strides: StridedView.contiguousStrides(shape))
    }

    /// Row-major strides of `shape` (last axis stride 1).
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = s
            s *= shape[d]
        }
        return strides
    }
}

/// Unary elementwise operations. Parameterised cases carry their scalar.
public enum UnaryOp: Sendable, Hashable {
    case neg, sqrt, rsqrt, exp, log, square, abs, softplus, relu, sign, reciprocal
    /// x > 0 ? x : alpha·x
    case leakyReLU(alpha: Float)
    /// x·k
    case scale(Float)
    /// x + k
    case addScalar(Float)
    /// x^p (for x ≥ 0, or integer p)
    case powScalar(Float)
    /// x > t ? 1 : 0
    case step(threshold: Float)
    /// 1 / (1 + e^−x), evaluated without overflow for either sign of x
    case sigmoid
    /// tanh(x)
    case tanh

    /// Stable code shared by the CPU switch and the OpenCL kernel's `switch`.
    public var code: Int32 {
        switch self {
        case .neg: 0
        case .sqrt: 1
        case .rsqrt: 2
        case .exp: 3
        case .log: 4
        case .square: 5
        case .abs: 6
        case .softplus: 7
        case .relu: 8
        case .sign: 9
        case .reciprocal: 10
        case .leakyReLU: 11
        case .scale: 12
        case .addScalar: 13
        case .powScalar: 14
        case .step: 15
        case .sigmoid: 16
        case .tanh: 17
        }
    }

    /// The scalar parameter (0 when the op has none).
    public var scalar: Float {
        switch self {
        case .leakyReLU(let a): a
        case .scale(let k), .addScalar(let k), .powScalar(let k): k
        case .step(let t): t
        default: 0
        }
    }
}

/// Binary elementwise operations (with broadcasting through strides).
public enum BinaryOp: Int32, Sendable, Hashable, CaseIterable {
    case add = 0, sub, mul, div, pow, maximum, minimum
    /// a > b ? 1 : 0
    case greater
}

/// Reductions over a set of axes.
public enum ReduceOp: Int32, Sendable, Hashable, CaseIterable {
    case sum = 0, mean, sumOfSquares, max
}

/// Row-major batched GEMM: `C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b]`.
/// op(A) is `[m, k]`: A is stored `[m, k]`, or `[k, m]` when `transA`. op(B) is `[k, n]`: B is stored
/// `[k, n]`, or `[n, k]` when `transB`. C is `[m, n]`. Batch item `b` starts at `offsetX + b·strideX`
/// (stride 0 broadcasts one matrix over the batch).
public struct GemmShape: Sendable, Hashable {
    public var m: Int, n: Int, k: Int
    public var transA: Bool, transB: Bool
    public var batch: Int
    public var strideA: Int, strideB: Int, strideC: Int
    public var offsetA: Int, offsetB: Int, offsetC: Int
    public var alpha: Float, beta: Float

    public init(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, batch: Int = 1,
                strideA: Int? = nil, strideB: Int? = nil, strideC: Int? = nil,
                offsetA: Int = 0, offsetB: Int = 0, offsetC: Int = 0, alpha: Float = 1, beta: Float = 0) {
        self.m = m; self.n = n; self.k = k
        self.transA = transA; self.transB = transB
        self.batch = batch
        self.strideA = strideA ?? m * k
        self.strideB = strideB ?? k * n
        self.strideC = strideC ?? m * n
        self.offsetA = offsetA; self.offsetB = offsetB; self.offsetC = offsetC
        self.alpha = alpha; self.beta = beta
    }

    /// Floating-point operations (2·m·n·k per batch item).
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }
}

/// NCHW 2-D convolution: input `[batch, inChannels, height, width]`,
/// weight `[outChannels, inChannels/groups, kernelH, kernelW]`, output `[batch, outChannels, outHeight, outWidth]`.
/// The convolution uses the weight times `weightGain` (equalized learning rate's 1/√fan-in, NVlabs `weight_gain`):
/// every OpenCL kernel of the family (forward, grad-input, grad-weight) multiplies its result by it in its store, so
/// the scaled weight is never a tensor of its own and costs no launch.
public struct Conv2dShape: Sendable, Hashable {
    public var batch: Int, inChannels: Int, outChannels: Int
    public var height: Int, width: Int
    public var kernelH: Int, kernelW: Int
    public var stride: Int
    public var padH: Int, padW: Int
    public var groups: Int
    /// g in y = conv(x, g·w), dx = convᵀ(dy, g·w), dw = g·corr(x, dy).
    public var weightGain: Float

    public init(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
                kernelH: Int, kernelW: Int, stride: Int = 1, padH: Int = 0, padW: Int = 0, groups: Int = 1,
                weightGain: Float = 1) {
        self.batch = batch; self.inChannels = inChannels; self.outChannels = outChannels
        self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW
        self.stride = stride; self.padH = padH; self.padW = padW; self.groups = groups
        self.weightGain = weightGain
    }

    public var outHeight: Int { (height + 2 * padH - kernelH) / stride + 1 }
    public var outWidth: Int { (width + 2 * padW - kernelW) / stride + 1 }
    public var inputCount: Int { batch * inChannels * height * width }
    public var weightCount: Int { outChannels * (inChannels / groups) * kernelH * kernelW }
    public var outputCount: Int { batch * outChannels * outHeight * outWidth }
    /// Multiply-adds ×2 of the forward pass.
    public var flops: Double {
        2 * Double(outputCount) * Double(inChannels / groups) * Double(kernelH * kernelW)
    }

    /// Checks divisibility and positivity; throws `shapeMismatch` naming `op`.
    public func validate(_ op: String) throws {
        guard batch > 0, inChannels > 0, outChannels > 0, height > 0, width > 0, kernelH > 0, kernelW > 0,
              stride > 0, padH >= 0, padW >= 0, groups > 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "non-positive dimension in \(self)")
        }
        guard inChannels % groups == 0, outChannels % groups == 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "channels \(inChannels)->\(outChannels) not divisible by groups \(groups)")
        }
        guard outHeight > 0, outWidth > 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "empty output for \(self)")
        }
        guard weightGain.isFinite else {
            throw EngineError.shapeMismatch(op: op, detail: "weight gain \(weightGain) is not finite")
        }
    }
}

/// StyleGAN2 weight modulation: weight `[outChannels, inChannels, kernelSize]` (kernelSize = kh·kw),
/// styles `[batch, inChannels]`, modulated `[batch, outChannels, inChannels, kernelSize]`.
public struct ModulateShape: Sendable, Hashable {
    public var batch: Int, outChannels: Int, inChannels: Int, kernelSize: Int
    public var demodulate: Bool
    /// Added inside the demodulation rsqrt (StyleGAN2: 1e-8).
    public var epsilon: Float

    public init(batch: Int, outChannels: Int, inChannels: Int, kernelSize: Int, demodulate: Bool = true, epsilon: Float = 1e-8) {
        self.batch = batch; self.outChannels = outChannels; self.inChannels = inChannels
        self.kernelSize = kernelSize; self.demodulate = demodulate; self.epsilon = epsilon
    }

    public var weightCount: Int { outChannels * inChannels * kernelSize }
    public var modulatedCount: Int { batch * weightCount }
}

/// upfirdn2d on `count` planes of `inHeight × inWidth` with a `filterH × filterW` filter.
/// Output size: `(in·up + pad0 + pad1 - filter) / down + 1` per axis.
public struct Upfirdn2dShape: Sendable, Hashable {
    public var planes: Int
    public var inHeight: Int, inWidth: Int
    public var upX: Int, upY: Int, downX: Int, downY: Int
    public var padX0: Int, padX1: Int, padY0: Int, padY1: Int
    public var filterH: Int, filterW: Int
    /// false: convolution (the filter is flipped, NVlabs default); true: correlation.
    public var flipFilter: Bool
    public var gain: Float

    public init(planes: Int, inHeight: Int, inWidth: Int, up: Int = 1, down: Int = 1,
                pad: (x0: Int, x1: Int, y0: Int, y1: Int) = (0, 0, 0, 0), filterH: Int, filterW: Int,
                flipFilter: Bool = false, gain: Float = 1) {
        self.planes = planes; self.inHeight = inHeight; self.inWidth = inWidth
        upX = up; upY = up; downX = down; downY = down
        padX0 = pad.x0; padX1 = pad.x1; padY0 = pad.y0; padY1 = pad.y1
        self.filterH = filterH; self.filterW = filterW
        self.flipFilter = flipFilter; self.gain = gain
    }

    public var outHeight: Int { (inHeight * upY + padY0 + padY1 - filterH) / downY + 1 }
    public var outWidth: Int { (inWidth * upX + padX0 + padX1 - filterW) / downX + 1 }
    public var outputCount: Int { planes * outHeight * outWidth }
}

/// The activation of `bias_act`.
public enum Activation: Int32, Sendable, Hashable, CaseIterable, Codable {
    case linear = 0
    case leakyReLU = 1

    /// StyleGAN2's default gain: 1 for linear, √2 for leaky ReLU.
    public var defaultGain: Float { self == .linear ? 1 : Float(2).squareRoot() }
}

/// `bias_act` over `count` elements laid out as `[outer, channels, inner]`.
public struct BiasActShape: Sendable, Hashable {
    public var count: Int, channels: Int, inner: Int
    public var activation: Activation
    public var alpha: Float
    public var gain: Float
    /// Clamp bound; negative means no clamp.
    public var clamp: Float
    /// StyleGAN2's per-pixel noise added before the bias (nil: none), one value per (sample, inner position).
    public var noise: BiasActNoise?

    public init(count: Int, channels: Int, inner: Int, activation: Activation, alpha: Float = 0.2,
                gain: Float? = nil, clamp: Float? = nil, noise: BiasActNoise? = nil) {
        self.count = count; self.channels = channels; self.inner = inner
        self.activation = activation; self.alpha = alpha
        self.gain = gain ?? activation.defaultGain
        self.clamp = clamp ?? -1
        self.noise = noise
    }

    /// Elements between one sample's noise plane and the next: `inner` per sample, 0 shared.
    public var noiseStride: Int { noise == .perSample ? inner : 0 }

    /// `[outer, channels, inner]`: the layout whose axes 0 and 2 a bias's gradient sums over.
    public var reductionShape: [Int] {
        let (c, i) = (max(channels, 1), max(inner, 1))
        return [count / (c * i), c, i]
    }
}

/// How `bias_act`'s noise `[·, inner]` spreads over the `outer` samples of `[outer, channels, inner]`.
public enum BiasActNoise: Sendable, Hashable {
    /// Noise `[outer, inner]`: a plane per sample.
    case perSample
    /// Noise `[inner]`: one plane for every sample.
    case shared
}

/// Distributions of `Backend.random`.
public enum RandomDistribution: Int32, Sendable, Hashable, CaseIterable {
    /// U[0, 1): `(x >> 8)·2⁻²⁴`.
    case uniform = 0
    /// N(0, 1) by Box–Muller on lane pairs (0,1) and (2,3) of each Philox block.
    case normal = 1
}

/// One tensor of a multi-tensor Adam step: its first `count` elements of param, grad and the moments m, v.
public struct AdamSlot {
    public var param: any Buffer, grad: any Buffer, m: any Buffer, v: any Buffer
    public var count: Int

    public init(param: any Buffer, grad: any Buffer, m: any Buffer, v: any Buffer, count: Int) {
        self.param = param; self.grad = grad; self.m = m; self.v = v; self.count = count
    }
}

/// One tensor of a multi-tensor EMA update: the first `count` elements of `ema`, moved toward `param`.
public struct EMASlot {
    public var ema: any Buffer, param: any Buffer
    public var count: Int

    public init(ema: any Buffer, param: any Buffer, count: Int) {
        self.ema = ema; self.param = param; self.count = count
    }
}

/// One Adam step (bias-corrected): `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`,
/// `p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)`.
public struct AdamStep: Sendable, Hashable {
    public var learningRate: Float, beta1: Float, beta2: Float, epsilon: Float
    /// 1-based step number used for bias correction.
    public var step: Int
    /// Multiplies the gradient before use (e.g. 1/accumulation).
    public var gradScale: Float

    public init(learningRate: Float, beta1: Float = 0, beta2: Float = 0.99, epsilon: Float = 1e-8, step: Int, gradScale: Float = 1) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.step = step; self.gradScale = gradScale
    }

    public var biasCorrection1: Float { AdamStep.oneMinusPower(beta1, step) }
    public var biasCorrection2: Float { AdamStep.oneMinusPower(beta2, step) }

    static func oneMinusPower(_ beta: Float, _ step: Int) -> Float {
        let power: Double = Foundation.pow(Double(beta), Double(step))
        return Float(1 - power)
    }
}

import Foundation
