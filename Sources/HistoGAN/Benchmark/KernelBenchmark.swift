import Engine
import Foundation

/// One timed kernel of `histogan-gpu bench`.
public struct BenchmarkResult: Codable, Sendable {
    public var kernel: String
    public var shape: String
    /// Mean time of one call, milliseconds.
    public var milliseconds: Double
    /// Arithmetic throughput where the kernel is compute-bound.
    public var gflops: Double?
    /// Memory throughput (bytes read + written once) where the kernel is bandwidth-bound.
    public var gigabytesPerSecond: Double?
    public var iterations: Int
}

/// Times each primitive kernel on realistic StyleGAN2 / HistoGAN shapes.
public struct KernelBenchmark: Sendable {
    public let backend: any Backend
    /// Smaller shapes (for smoke tests and slow devices).
    public let quick: Bool
    /// Minimum measured time per kernel, seconds (at least one call after a warm-up call).
    public let minimumSeconds: Double

    /// Only the families whose name contains this text, case-insensitively; several texts separated by commas
    /// select every family that any of them matches (nil: all).
    public let only: String?

    public init(backend: any Backend, quick: Bool = false, minimumSeconds: Double = 0.5, only: String? = nil) {
        self.backend = backend
        self.quick = quick
        self.minimumSeconds = minimumSeconds
        self.only = only
    }

    /// The case families, in the order `run` times them (each a substring of its results' kernel names).
    public static let families = ["gemm", "modconv", "conv3x3 grad", "conv3x3 stride-2", "upfirdn2d", "bias_act", "epilogue",
                                  "reduce sum", "philox", "adam", "histogram"]

    /// Whether `family` runs under `only`.
    public func runs(_ family: String) -> Bool { only.map { Self.matches(family, $0) } ?? true }

    /// Whether `family` contains one of the comma-separated texts of `selection`, case-insensitively.
    public static func matches(_ family: String, _ selection: String) -> Bool {
        selection.split(separator: ",").contains { family.localizedCaseInsensitiveContains($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Runs every case (of the families `only` selects), calling `progress` with each result as it completes.
    public func run(progress: (BenchmarkResult) -> Void = { _ in }) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        func record(_ r: BenchmarkResult) { results.append(r); progress(r) }
        if runs("gemm") {
            for n in quick ? [128, 256] : [1024, 4096] { record(try gemm(n)) }
        }
        if runs("modconv") {
            for (res, ch) in quick ? [(16, 64), (32, 32)] : [(64, 512), (128, 256), (256, 128)] {
                for mode in ModconvMode.allCases { record(try modconv(resolution: res, channels: ch, batch: 4, mode: mode)) }
            }
        }
        if runs("conv3x3 grad") {
            let convShape = quick ? (16, 32) : (64, 256)
            record(try conv2dGrads(resolution: convShape.0, channels: convShape.1, batch: 4, input: true))
            record(try conv2dGrads(resolution: convShape.0, channels: convShape.1, batch: 4, input: false))
        }
        if runs("conv3x3 stride-2") {
            let (r, c) = quick ? (16, 32) : (64, 256)
            for pass in Conv2dPass.allCases { record(try conv2dStride2(resolution: r, channels: c, batch: 4, pass: pass)) }
        }
        if runs("upfirdn2d") {
            let upRes = quick ? (32, 32) : (128, 256)
            record(try upfirdn2d(resolution: upRes.0, channels: upRes.1, batch: 4, up: 2))
            record(try upfirdn2d(resolution: upRes.0 * 2, channels: upRes.1, batch: 4, up: 1, down: 2))
        }
        let elems = quick ? 1 << 18 : 1 << 24
        if runs("bias_act") { record(try biasAct(count: elems)) }
        if runs("epilogue") {
            let epilogue = quick ? (32, 32) : (128, 128)
            for fused in [false, true] {
                record(try synthesisEpilogue(resolution: epilogue.0, channels: epilogue.1, batch: 4, fused: fused))
            }
            for fused in [false, true] {
                record(try convEpilogue(resolution: epilogue.0 / 2, channels: epilogue.1, batch: 4, fused: fused))
            }
            for fused in [false, true] {
                record(try scaleGradient(resolution: epilogue.0, channels: epilogue.1, batch: 4, fused: fused))
            }
        }
        if runs("reduce sum") { record(try reduceSum(count: elems)) }
        if runs("philox") { record(try randomNormal(count: elems)) }
        if runs("adam") {
            record(try adam(count: quick ? 1 << 18 : 1 << 25))
            let generator = NetworkConfig(resolution: quick ? 32 : 256, capacity: quick ? 0.25 : 1)
            for perTensor in [true, false] { record(try adamOverGenerator(generator, perTensor: perTensor)) }
        }
        if runs("histogram") {
            let histogram = HistogramBenchmark(backend: backend, batch: 4, size: quick ? 64 : 256, bins: 64, minimumSeconds: minimumSeconds)
            _ = try histogram.run(progress: record)
        }
        return results
    }

    // MARK: - Cases

    func gemm(_ n: Int) throws -> BenchmarkResult {
        let a = try Tensor.random([n, n], seed: 1, on: backend), b = try Tensor.random([n, n], seed: 2, on: backend)
        let c = try Tensor.empty([n, n], on: backend)
        let shape = GemmShape(m: n, n: n, k: n)
        let (ms, iters) = try time { try backend.gemm(shape, a: a.buffer, b: b.buffer, c: c.buffer) }
        return BenchmarkResult(kernel: "gemm", shape: "\(n)x\(n)x\(n)", milliseconds: ms,
                               gflops: shape.flops / ms / 1e6, iterations: iters)
    }

    /// StyleGAN2 modulated 3x3 convolution forward. `.fused`: modulate + demodulate weights, then the grouped
    /// convolution (groups = batch); `.split`: demodulation coefficients, then one scaled convolution with the
    /// shared weight. GFLOP/s counts the convolution's multiply-adds only.
    func modconv(resolution r: Int, channels c: Int, batch: Int, mode: ModconvMode) throws -> BenchmarkResult {
        let x = try Tensor.random([batch, c, r, r], seed: 3, on: backend)
        let w = try Tensor.random([c, c, 3, 3], seed: 4, on: backend)
        let s = try Tensor.random([batch, c], seed: 5, on: backend)
        let conv = Conv2dShape(batch: 1, inChannels: batch * c, outChannels: batch * c, height: r, width: r,
                               kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: batch)
        let (ms, iters) = try time { _ = try Tensor.modulatedConv2d(x, weight: w, styles: s, mode: mode) }
        return BenchmarkResult(kernel: "modconv3x3 \(mode.rawValue) fwd", shape: "\(batch)x\(c)x\(r)x\(r)", milliseconds: ms,
                               gflops: conv.flops / ms / 1e6, iterations: iters)
    }

    /// A 3x3 stride-1 convolution's input or weight gradient at r x r pixels, c channels in and out.
    func conv2dGrads(resolution r: Int, channels c: Int, batch: Int, input: Bool) throws -> BenchmarkResult {
        let conv = Conv2dShape(batch: batch, inChannels: c, outChannels: c, height: r, width: r, kernelH: 3, kernelW: 3,
                               padH: 1, padW: 1)
        return try conv2d(conv, input ? .gradInput : .gradWeight, kernel: input ? "conv3x3 grad-input" : "conv3x3 grad-weight")
    }

    /// The three kernels of a convolution.
    enum Conv2dPass: String, CaseIterable { case forward = "fwd", gradInput = "grad-input", gradWeight = "grad-weight" }

    /// The discriminator's down-sampling convolution (3x3, stride 2, padding 0, after the FIR: input 2r + 1, output r)
    /// by the backend's algorithm; its grad-input is also the generator's transposed up-sampling convolution.
    func conv2dStride2(resolution r: Int, channels c: Int, batch: Int, pass: Conv2dPass) throws -> BenchmarkResult {
        let conv = Conv2dShape(batch: batch, inChannels: c, outChannels: c, height: 2 * r + 1, width: 2 * r + 1,
                               kernelH: 3, kernelW: 3, stride: 2)
        return try conv2d(conv, pass, kernel: "conv3x3 stride-2 \(pass.rawValue)")
    }

    /// One kernel of `conv` on seeded operands, by the backend's algorithm; the row's shape is the input's N x C x H x W.
    func conv2d(_ conv: Conv2dShape, _ pass: Conv2dPass, kernel: String) throws -> BenchmarkResult {
        let (n, c, o) = (conv.batch, conv.inChannels, conv.outChannels)
        let x = try Tensor.random([n, c, conv.height, conv.width], seed: 6, on: backend)
        let w = try Tensor.random([o, c, conv.kernelH, conv.kernelW], seed: 7, on: backend)
        let dy = try Tensor.random([n, o, conv.outHeight, conv.outWidth], seed: 8, on: backend)
        let out = try Tensor.empty(pass == .gradWeight ? w.shape : pass == .forward ? dy.shape : x.shape, on: backend)
        let (ms, iters) = try time {
            switch pass {
            case .forward: try backend.conv2d(conv, input: x.buffer, weight: w.buffer, output: out.buffer)
            case .gradInput: try backend.conv2dGradInput(conv, gradOutput: dy.buffer, weight: w.buffer, gradInput: out.buffer)
            case .gradWeight: try backend.conv2dGradWeight(conv, input: x.buffer, gradOutput: dy.buffer, gradWeight: out.buffer)
            }
        }
        return BenchmarkResult(kernel: kernel, shape: "\(n)x\(c)x\(conv.height)x\(conv.width)", milliseconds: ms,
                               gflops: conv.flops / ms / 1e6, iterations: iters)
    }

    func upfirdn2d(resolution r: Int, channels c: Int, batch: Int, up: Int = 1, down: Int = 1) throws -> BenchmarkResult {
        let x = try Tensor.random([batch, c, r, r], seed: 9, on: backend)
        let f = try Tensor.firFilter([1, 3, 3, 1], on: backend)
        let pad = up > 1 ? (2, 1, 2, 1) : (1, 1, 1, 1)
        var outCount = 0
        let (ms, iters) = try time {
            let y = try Tensor.upfirdn2d(x, filter: f, up: up, down: down, padding: pad, gain: Float(up * up))
            outCount = y.count
        }
        let bytes = Double(4 * (x.count + outCount))
        return BenchmarkResult(kernel: up > 1 ? "upfirdn2d up2 [1,3,3,1]" : "upfirdn2d down2 [1,3,3,1]",
                               shape: "\(batch)x\(c)x\(r)x\(r)", milliseconds: ms, gigabytesPerSecond: bytes / ms / 1e6, iterations: iters)
    }

    func biasAct(count: Int) throws -> BenchmarkResult {
        let c = 256
        let x = try Tensor.random([count / (c * 64), c, 64], seed: 10, on: backend)
        let b = try Tensor.random([c], seed: 11, on: backend)
        let (ms, iters) = try time { _ = try x.biasAct(bias: b, activation: .leakyReLU) }
        return BenchmarkResult(kernel: "bias_act lrelu", shape: "\(x.count)", milliseconds: ms,
                               gigabytesPerSecond: Double(8 * x.count) / ms / 1e6, iterations: iters)
    }

    /// A synthesis layer's epilogue `clamp(lrelu(x + noise·strength + b)·√2, ±256)`: one `biasAct` kernel with the
    /// noise folded in (`fused`), or the three launches it replaced (noise·strength, +, biasAct).
    func synthesisEpilogue(resolution r: Int, channels c: Int, batch: Int, fused: Bool) throws -> BenchmarkResult {
        let x = try Tensor.random([batch, c, r, r], seed: 14, on: backend)
        let noise = try Tensor.random([batch, 1, r, r], seed: 15, on: backend)
        let b = try Tensor.random([c], seed: 16, on: backend), strength = try Tensor.full([1], value: 0.1, on: backend)
        let (ms, iters) = try time {
            if fused {
                _ = try x.biasAct(bias: b, activation: .leakyReLU, clamp: 256, noise: noise, noiseStrength: strength)
            } else {
                _ = try (x + noise * strength).biasAct(bias: b, activation: .leakyReLU, clamp: 256)
            }
        }
        return BenchmarkResult(kernel: fused ? "epilogue, 1 kernel" : "epilogue, 3 launches",
                               shape: "\(batch)x\(c)x\(r)x\(r)", milliseconds: ms,
                               gigabytesPerSecond: Double(4 * (2 * x.count + noise.count)) / ms / 1e6, iterations: iters)
    }

    /// A discriminator layer: 3x3 conv, + bias, leaky ReLU·√2, clamp 256 — in the conv's store (`fused`, one launch
    /// on OpenCL) or as the conv and a separate `biasAct`.
    func convEpilogue(resolution r: Int, channels c: Int, batch: Int, fused: Bool) throws -> BenchmarkResult {
        let x = try Tensor.random([batch, c, r, r], seed: 17, on: backend)
        let w = try Tensor.random([c, c, 3, 3], seed: 18, on: backend), b = try Tensor.random([c], seed: 19, on: backend)
        let (ms, iters) = try time {
            if fused {
                _ = try Tensor.conv2dBiasAct(x, weight: w, padding: 1, bias: b, activation: .leakyReLU, clamp: 256)
            } else {
                _ = try Tensor.conv2d(x, weight: w, padding: 1).biasAct(bias: b, activation: .leakyReLU, clamp: 256)
            }
        }
        return BenchmarkResult(kernel: fused ? "conv+bias_act, 1 kernel" : "conv+bias_act, 2 launches",
                               shape: "\(batch)x\(c)x\(r)x\(r)", milliseconds: ms,
                               gflops: 2 * Double(x.count * c * 9) / ms / 1e6, iterations: iters)
    }

    /// A split modconv's demodulation gradient `Σ_{h,w} g·y / d` per (sample, channel): one `channelDot` launch
    /// (`fused`), or the product, the reduction and the division it replaced.
    func scaleGradient(resolution r: Int, channels c: Int, batch: Int, fused: Bool) throws -> BenchmarkResult {
        let g = try Tensor.random([batch, c, r, r], seed: 20, on: backend), y = try Tensor.random([batch, c, r, r], seed: 21, on: backend)
        let d = try Tensor.random([batch, c], .uniform, seed: 22, on: backend) + 1
        let (ms, iters) = try time {
            _ = fused ? try Tensor.channelDot(g, y, dividedBy: d) : try (g * y).sum(axes: [2, 3]) / d
        }
        return BenchmarkResult(kernel: fused ? "scale grad, 1 kernel" : "scale grad, 3 launches",
                               shape: "\(batch)x\(c)x\(r)x\(r)", milliseconds: ms,
                               gigabytesPerSecond: Double(8 * g.count) / ms / 1e6, iterations: iters)
    }

    func reduceSum(count: Int) throws -> BenchmarkResult {
        let x = try Tensor.random([count], seed: 12, on: backend)
        let (ms, iters) = try time { _ = try x.sum() }
        return BenchmarkResult(kernel: "reduce sum (all)", shape: "\(count)", milliseconds: ms,
                               gigabytesPerSecond: Double(4 * count) / ms / 1e6, iterations: iters)
    }

    func randomNormal(count: Int) throws -> BenchmarkResult {
        let out = try Tensor.empty([count], on: backend)
        let (ms, iters) = try time { try backend.random(.normal, seed: 13, offset: 0, out.buffer, count: count) }
        return BenchmarkResult(kernel: "philox normal", shape: "\(count)", milliseconds: ms,
                               gigabytesPerSecond: Double(4 * count) / ms / 1e6, iterations: iters)
    }

    func adam(count: Int) throws -> BenchmarkResult {
        let p = try Tensor.random([count], seed: 14, on: backend), g = try Tensor.random([count], seed: 15, on: backend)
        let m = try Tensor.zeros([count], on: backend), v = try Tensor.zeros([count], on: backend)
        var step = 0
        let (ms, iters) = try time {
            step += 1
            try backend.adamStep(AdamStep(learningRate: 0.002, step: step), param: p.buffer, grad: g.buffer,
                                 m: m.buffer, v: v.buffer, count: count)
        }
        return BenchmarkResult(kernel: "adam step", shape: "\(count)", milliseconds: ms,
                               gigabytesPerSecond: Double(4 * 7 * count) / ms / 1e6, iterations: iters)
    }

    /// Adam over the parameter tensors of a generator with `config`: one `adamStep` call per tensor (one launch
    /// each) or one multi-tensor call (16 tensors per OpenCL launch).
    func adamOverGenerator(_ config: NetworkConfig, perTensor: Bool) throws -> BenchmarkResult {
        let counts = try Generator(config: config, backend: backend, seed: 1).parameters.parameters.map(\.value.count)
        let slots = try counts.enumerated().map { k, c in
            AdamSlot(param: try Tensor.random([c], seed: UInt64(20 + k), on: backend).buffer,
                     grad: try Tensor.random([c], seed: UInt64(200 + k), on: backend).buffer,
                     m: try Tensor.zeros([c], on: backend).buffer, v: try Tensor.zeros([c], on: backend).buffer, count: c)
        }
        var step = 0
        let (ms, iters) = try time {
            step += 1
            let config = AdamStep(learningRate: 0.002, step: step)
            if perTensor { for s in slots { try backend.adamStep(config, [s]) } } else { try backend.adamStep(config, slots) }
        }
        let total = counts.reduce(0, +)
        return BenchmarkResult(kernel: perTensor ? "adam G, per tensor" : "adam G, multi-tensor",
                               shape: String(format: "%d tensors %.2fM", counts.count, Double(total) / 1e6), milliseconds: ms,
                               gigabytesPerSecond: Double(4 * 7 * total) / ms / 1e6, iterations: iters)
    }

    // MARK: - Timing

    /// Mean milliseconds per call of `body` after one warm-up call, repeating until `minimumSeconds`.
    func time(_ body: () throws -> Void) throws -> (Double, Int) {
        try body()
        try backend.synchronize()
        let clock = ContinuousClock()
        let start = clock.now
        var iterations = 0
        var elapsed = 0.0
        repeat {
            try body()
            iterations += 1
            try backend.synchronize()
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        } while elapsed < minimumSeconds && iterations < 1000
        return (elapsed * 1000 / Double(iterations), iterations)
    }
}
