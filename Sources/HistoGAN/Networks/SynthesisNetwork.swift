import Engine

/// Per-pixel noise for the synthesis layers: nil = none (deterministic images), else Philox normal noise keyed
/// by a seed and the layer, identical on every backend. `layout` says how one layer's map `[N, 1, r, r]` is drawn:
/// 1. `.batch`: one stream over the whole batch, key `seed`, counter blocks from `layer·2⁴⁰` (training; a sample's
///    noise depends on its place in the batch).
/// 2. `.shared`: one map `[1, 1, r, r]`, key `seed`, counter blocks from `(layer + 1)·2⁴⁰`, the same for every
///    sample (NVlabs `noise_mode='const'`).
/// 3. `.perSample(seeds)`: sample i gets the map `[1, 1, r, r]` keyed by `seeds[i]`, counter blocks from
///    `(layer + 1)·2⁴⁰` (so an image's noise does not depend on its batch, and never reuses the counter blocks
///    from 0 that `SampleGrid.latents` draws z from for the same seed). `seed` is not used.
public struct NoiseSource: Sendable, Equatable {
    /// How the samples of a batch share noise.
    public enum Layout: Sendable, Equatable {
        /// One stream over the whole batch (every sample differs; depends on the batch).
        case batch
        /// One map per layer for every sample.
        case shared
        /// Sample i keyed by element i (one seed per sample of the batch).
        case perSample([UInt64])
    }

    /// Philox key of `.batch` and `.shared` noise.
    public var seed: UInt64
    /// How the samples of a batch share noise.
    public var layout: Layout

    /// Noise keyed by `seed`, laid out as `layout` (default `.batch`, what training draws).
    public init(seed: UInt64, layout: Layout = .batch) {
        self.seed = seed
        self.layout = layout
    }

    /// Noise `shape` = `[N, 1, r, r]` for synthesis layer `layer`; `.shared` gives the one map `[1, 1, r, r]`
    /// (`biasAct` and the elementwise ops broadcast it).
    func noise(layer: Int, shape: [Int], on backend: any Backend) throws -> Tensor {
        let map = [1] + shape.dropFirst(), offset = UInt64(layer + 1) << 40
        switch layout {
        case .batch:
            return try Tensor.random(shape, .normal, seed: seed, offset: UInt64(layer) << 40, on: backend)
        case .shared:
            return try Tensor.random(map, .normal, seed: seed, offset: offset, on: backend)
        case .perSample(let seeds):
            guard seeds.count == shape[0] else {
                throw HistoGANError.invalidConfig("per-sample noise has \(seeds.count) seeds for a batch of \(shape[0])")
            }
            return try Tensor.concat(seeds.map { try Tensor.random(map, .normal, seed: $0, offset: offset, on: backend) }, axis: 0)
        }
    }
}

/// StyleGAN2 synthesis layer: modulated 3x3 conv (optionally 2x up), then one `biasAct` kernel for
/// + noise·strength, + bias, leaky ReLU·√2, clamp.
public struct SynthesisLayer {
    public let conv: ModulatedConv2d
    public let bias: Parameter
    public let noiseStrength: Parameter
    let clamp: Float?

    init(_ name: String, in i: Int, out o: Int, wDim: Int, up: Int, transposedUp: Bool = true, modconv: ModconvMode = .fused,
         clamp: Float?, init rng: inout ParameterInitializer) throws {
        conv = try ModulatedConv2d(name, in: i, out: o, kernel: 3, wDim: wDim, up: up, transposedUp: transposedUp, mode: modconv,
                                   init: &rng)
        bias = Parameter(name: "\(name).bias", value: try rng.constant([o], 0))
        noiseStrength = Parameter(name: "\(name).noise_strength", value: try rng.constant([1], 0))
        self.clamp = clamp
    }

    var parameters: ParameterCollection {
        var c = conv.parameters
        c.append(bias)
        c.append(noiseStrength)
        return c
    }

    func callAsFunction(_ x: Tensor, w: Tensor, noise: Tensor?) throws -> Tensor {
        let y = try conv(x, w: w)
        return try Profiler.withScope(conv.name) {
            try y.biasAct(bias: bias.value, activation: .leakyReLU, clamp: clamp, noise: noise,
                          noiseStrength: noise == nil ? nil : noiseStrength.value)
        }
    }
}

/// toRGB: modulated 1x1 conv without demodulation (styles scaled by 1/√I), + bias, clamp.
public struct ToRGBLayer {
    public let conv: ModulatedConv2d
    public let bias: Parameter
    let clamp: Float?
    let inChannels: Int

    init(_ name: String, in i: Int, wDim: Int, modconv: ModconvMode = .fused, clamp: Float?, init rng: inout ParameterInitializer) throws {
        conv = try ModulatedConv2d(name, in: i, out: 3, kernel: 1, wDim: wDim, demodulate: false, mode: modconv, init: &rng)
        bias = Parameter(name: "\(name).bias", value: try rng.constant([3], 0))
        self.clamp = clamp
        inChannels = i
    }

    var parameters: ParameterCollection {
        var c = conv.parameters
        c.append(bias)
        return c
    }

    func callAsFunction(_ x: Tensor, w: Tensor) throws -> Tensor {
        let y = try conv(x, w: w, styleGain: 1 / Float(inChannels).squareRoot())
        return try Profiler.withScope(conv.name) { try y.biasAct(bias: bias.value, clamp: clamp) }
    }
}

/// StyleGAN2 synthesis network, skip architecture: learned 4x4 constant; per resolution r a block of
/// (conv up 2x, conv, toRGB) — the 4x4 block has (conv, toRGB) — and `image = upsample(image) + toRGB(x)`.
/// Layers take one w each (`numWs` of them, in order); the last two blocks are styled by w_hist.
public final class SynthesisNetwork {
    public let config: NetworkConfig
    public let constant: Parameter
    public private(set) var blocks: [(resolution: Int, conv0: SynthesisLayer?, conv1: SynthesisLayer, toRGB: ToRGBLayer)] = []
    let upFilter: Tensor

    public init(config: NetworkConfig, init rng: inout ParameterInitializer) throws {
        self.config = config
        let w = config.latentDim
        constant = Parameter(name: "synthesis.const", value: try rng.normal([config.channels(at: 4), 4, 4]))
        for r in config.blockResolutions {
            let inCh = r == 4 ? config.channels(at: 4) : config.channels(at: r / 2)
            let outCh = config.channels(at: r)
            let conv0 = r == 4 ? nil : try SynthesisLayer("synthesis.b\(r).conv0", in: inCh, out: outCh, wDim: w, up: 2,
                                                          transposedUp: config.upsampleConv == .transposed,
                                                          modconv: config.modconv, clamp: config.convClamp, init: &rng)
            let conv1 = try SynthesisLayer("synthesis.b\(r).conv1", in: outCh, out: outCh, wDim: w, up: 1, modconv: config.modconv,
                                           clamp: config.convClamp, init: &rng)
            let toRGB = try ToRGBLayer("synthesis.b\(r).torgb", in: outCh, wDim: w, modconv: config.modconv, clamp: config.convClamp,
                                       init: &rng)
            blocks.append((r, conv0, conv1, toRGB))
        }
        upFilter = try Tensor.firFilter([1, 3, 3, 1], on: rng.backend)
    }

    public var parameters: ParameterCollection {
        var c = ParameterCollection([constant])
        for b in blocks {
            if let conv0 = b.conv0 { c.append(contentsOf: conv0.parameters) }
            c.append(contentsOf: b.conv1.parameters)
            c.append(contentsOf: b.toRGB.parameters)
        }
        return c
    }

    /// Number of w inputs: one per conv and toRGB layer.
    public var numWs: Int { blocks.reduce(0) { $0 + ($1.conv0 == nil ? 2 : 3) } }

    /// Index of the first w that the histogram styles (the layers of the last two blocks).
    public var firstHistogramW: Int { numWs - 6 }

    /// ws: `numWs` tensors `[N, latentDim]` in layer order → image `[N, 3, R, R]` in about [-1, 1].
    public func callAsFunction(_ ws: [Tensor], noise: NoiseSource?) throws -> Tensor {
        guard ws.count == numWs else {
            throw HistoGANError.invalidConfig("synthesis needs \(numWs) w vectors, got \(ws.count)")
        }
        let n = ws[0].shape[0]
        let backend = ws[0].backend
        var x = try Profiler.withScope("synthesis.const") {
            try constant.value.reshaped([1] + constant.shape).expanded(to: [n] + constant.shape)
        }
        var image: Tensor?
        var wi = 0, layer = 0
        func nextNoise(_ r: Int) throws -> Tensor? {
            defer { layer += 1 }
            return try Profiler.withScope("synthesis.noise") { try noise?.noise(layer: layer, shape: [n, 1, r, r], on: backend) }
        }
        for b in blocks {
            if let conv0 = b.conv0 {
                x = try conv0(x, w: ws[wi], noise: nextNoise(b.resolution)); wi += 1
            }
            x = try b.conv1(x, w: ws[wi], noise: nextNoise(b.resolution)); wi += 1
            let rgb = try b.toRGB(x, w: ws[wi]); wi += 1
            if let previous = image {
                image = try Profiler.withScope("synthesis.b\(b.resolution).upsample") {
                    try Tensor.upfirdn2d(previous, filter: upFilter, up: 2, padding: (2, 1, 2, 1), gain: 4) + rgb
                }
            } else {
                image = rgb
            }
        }
        return image!
    }
}
