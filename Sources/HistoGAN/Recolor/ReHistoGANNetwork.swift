import Engine

/// 2x up-sampling by the FIR [1,3,3,1] (the bilinear kernel of NVlabs `upsample2d`; the official code's
/// `nn.Upsample(bilinear)` differs only in its border handling). x `[N, C, H, W]` → `[N, C, 2H, 2W]`.
func upsample2x(_ x: Tensor, filter: Tensor) throws -> Tensor {
    try Tensor.upfirdn2d(x, filter: filter, up: 2, padding: (2, 1, 2, 1), gain: 4)
}

/// One U-Net encoder level (official `EncoderBlock`): `f = lrelu(IN(conv3(lrelu(IN(conv3(x)))))) + conv1(x)`
/// at the input's resolution (the skip features), then a stride-2 conv (after the [1,3,3,1] blur) to half size.
struct EncoderBlock {
    let conv0: Conv2dLayer, conv1: Conv2dLayer, residual: Conv2dLayer, down: Conv2dLayer

    init(_ name: String, in i: Int, out o: Int, init rng: inout ParameterInitializer) throws {
        conv0 = try Conv2dLayer("\(name).conv0", in: i, out: o, kernel: 3, init: &rng)
        conv1 = try Conv2dLayer("\(name).conv1", in: o, out: o, kernel: 3, init: &rng)
        residual = try Conv2dLayer("\(name).res", in: i, out: o, kernel: 1, init: &rng)
        down = try Conv2dLayer("\(name).down", in: o, out: o, kernel: 3, down: 2, init: &rng)
    }

    var parameters: ParameterCollection {
        var c = conv0.parameters
        for l in [conv1, residual, down] { c.append(contentsOf: l.parameters) }
        return c
    }

    /// x `[N, I, r, r]` → (down-sampled `[N, O, r/2, r/2]`, skip features `[N, O, r, r]`).
    func callAsFunction(_ x: Tensor) throws -> (down: Tensor, skip: Tensor) {
        let lrelu = UnaryOp.leakyReLU(alpha: 0.2)
        let h = try conv1(conv0(x).instanceNormalized().map(lrelu)).instanceNormalized().map(lrelu)
        let features = try h + residual(x)
        return (try down(features), features)
    }
}

/// One U-Net decoder level (official `DecoderBlock` without its discarded RGB output):
/// `c = lrelu(conv3(x))`, `p = lrelu(conv3([c, e]))` with e the encoder's output at this size,
/// `y = lrelu(conv3(conv1(x) + p))`, then 2x up-sampling.
struct DecoderBlock {
    let conv0: Conv2dLayer, conv1: Conv2dLayer, residual: Conv2dLayer, out: Conv2dLayer

    init(_ name: String, in i: Int, encoded e: Int, out o: Int, init rng: inout ParameterInitializer) throws {
        conv0 = try Conv2dLayer("\(name).conv0", in: i, out: i, kernel: 3, activation: .leakyReLU, init: &rng)
        conv1 = try Conv2dLayer("\(name).conv1", in: i + e, out: o, kernel: 3, activation: .leakyReLU, init: &rng)
        residual = try Conv2dLayer("\(name).res", in: i, out: o, kernel: 1, init: &rng)
        out = try Conv2dLayer("\(name).out", in: o, out: o, kernel: 3, activation: .leakyReLU, init: &rng)
    }

    var parameters: ParameterCollection {
        var c = conv0.parameters
        for l in [conv1, residual, out] { c.append(contentsOf: l.parameters) }
        return c
    }

    func callAsFunction(_ x: Tensor, encoded e: Tensor, filter: Tensor) throws -> Tensor {
        let processed = try conv1(Tensor.concat([conv0(x), e], axis: 1))
        return try upsample2x(out(residual(x) + processed), filter: filter)
    }
}

/// ReHistoGAN (Afifi et al. 2021 §4; official `ReHistoGAN/rehistoGAN.py`): a U-Net encoder–decoder whose
/// decoder ends in HistoGAN's head — the last two synthesis blocks (R/4 → R/2 → R), styled by the histogram
/// encoder's w_hist of the target histogram. The encoder's features at R/2 and R enter the head after each
/// block's first conv through histogram-modulated 3x3 convs (the official `--skip_conn_to_GAN`), which at
/// 32–64 px carry the content the R/4 bottleneck cannot.
/// Parameter names of the head and histogram encoder equal HistoGAN's, so a trained HistoGAN can seed them.
public final class ReHistoGANGenerator {
    public let config: NetworkConfig
    /// Whether the encoder's R/2 and R features feed the head.
    public let skipToHead: Bool
    let fromRGB: Conv2dLayer
    let encoder: [EncoderBlock]
    let decoder: [DecoderBlock]
    let decoderMapping: Conv2dLayer
    public let histogramEncoder: HistogramEncoder
    /// HistoGAN's last two synthesis blocks (resolutions R/2 and R).
    let head: [(resolution: Int, conv0: SynthesisLayer, conv1: SynthesisLayer, toRGB: ToRGBLayer)]
    /// Histogram-modulated 3x3 convs from the encoder's features into each head block.
    let skips: [ModulatedConv2d]
    let filter: Tensor

    /// Encoder channels at resolution r (half the generator's, as the official encoder is lighter).
    static func encoderChannels(_ config: NetworkConfig, at r: Int) -> Int { max(4, config.channels(at: r) / 2) }

    public init(config: NetworkConfig, skipToHead: Bool = true, backend: any Backend, seed: UInt64) throws {
        try config.validate()
        let r = config.resolution
        guard r >= 16 else { throw HistoGANError.invalidConfig("ReHistoGAN needs a resolution of at least 16, got \(r)") }
        self.config = config
        self.skipToHead = skipToHead
        var rng = ParameterInitializer(backend: backend, seed: seed)
        let ec = { ReHistoGANGenerator.encoderChannels(config, at: $0) }
        fromRGB = try Conv2dLayer("rehisto.fromrgb", in: 3, out: ec(r), kernel: 3, init: &rng)
        var encoder: [EncoderBlock] = []
        var res = r, channels = ec(r)
        while res > 4 {                                   // levels R … 8; the bottleneck is 4x4
            encoder.append(try EncoderBlock("rehisto.enc\(res)", in: channels, out: ec(res), init: &rng))
            channels = ec(res); res /= 2
        }
        self.encoder = encoder
        var decoder: [DecoderBlock] = []
        res = 4
        while res < r / 4 {                               // levels 4 … R/8, each output up-sampled 2x
            decoder.append(try DecoderBlock("rehisto.dec\(res)", in: channels, encoded: ec(res * 2), out: ec(res * 2), init: &rng))
            channels = ec(res * 2); res *= 2
        }
        self.decoder = decoder
        decoderMapping = try Conv2dLayer("rehisto.decmap", in: channels, out: config.channels(at: r / 4), kernel: 1, init: &rng)
        histogramEncoder = try HistogramEncoder(config: config, init: &rng)
        var head: [(Int, SynthesisLayer, SynthesisLayer, ToRGBLayer)] = []
        var skips: [ModulatedConv2d] = []
        for hr in [r / 2, r] {
            let (i, o, w) = (config.channels(at: hr / 2), config.channels(at: hr), config.latentDim)
            head.append((hr,
                         try SynthesisLayer("synthesis.b\(hr).conv0", in: i, out: o, wDim: w, up: 2,
                                            transposedUp: config.upsampleConv == .transposed, modconv: config.modconv,
                                            clamp: config.convClamp, init: &rng),
                         try SynthesisLayer("synthesis.b\(hr).conv1", in: o, out: o, wDim: w, up: 1, modconv: config.modconv,
                                            clamp: config.convClamp, init: &rng),
                         try ToRGBLayer("synthesis.b\(hr).torgb", in: o, wDim: w, modconv: config.modconv, clamp: config.convClamp,
                                        init: &rng)))
            if skipToHead {
                skips.append(try ModulatedConv2d("rehisto.skip\(hr)", in: ec(hr), out: o, kernel: 3, wDim: w, mode: config.modconv,
                                                 init: &rng))
            }
        }
        self.head = head
        self.skips = skips
        filter = try Tensor.firFilter([1, 3, 3, 1], on: backend)
    }

    /// Every trainable parameter.
    public var parameters: ParameterCollection {
        var c = fromRGB.parameters
        for b in encoder { c.append(contentsOf: b.parameters) }
        for b in decoder { c.append(contentsOf: b.parameters) }
        c.append(contentsOf: decoderMapping.parameters)
        c.append(contentsOf: histogramEncoder.parameters)
        c.append(contentsOf: headParameters)
        for s in skips { c.append(contentsOf: s.parameters) }
        return c
    }

    /// The parameters a HistoGAN checkpoint holds under the same names: the histogram encoder and the head.
    public var headParameters: ParameterCollection {
        var c = ParameterCollection()
        for b in head {
            c.append(contentsOf: b.conv0.parameters)
            c.append(contentsOf: b.conv1.parameters)
            c.append(contentsOf: b.toRGB.parameters)
        }
        return c
    }

    /// Images `[N, 3, R, R]` in [-1, 1] recoloured toward target histograms `[N, 3, B, B]` → `[N, 3, R, R]`.
    public func callAsFunction(_ images: Tensor, histograms: Tensor, noise: NoiseSource? = nil) throws -> Tensor {
        let r = config.resolution
        guard images.rank == 4, images.shape[1] == 3, images.shape[2] == r, images.shape[3] == r else {
            throw HistoGANError.invalidConfig("ReHistoGAN input \(images.shape), expected [N, 3, \(r), \(r)]")
        }
        let n = images.shape[0]
        var x = try fromRGB(images)
        var features: [Int: Tensor] = [:]            // encoder skip features by resolution
        var downs: [Int: Tensor] = [:]               // encoder outputs by resolution
        var res = r
        for block in encoder {
            let (down, skip) = try block(x)
            features[res] = skip
            res /= 2
            downs[res] = down
            x = down
        }
        res = 4
        for block in decoder {
            x = try block(x, encoded: downs[res]!, filter: filter)
            res *= 2
        }
        x = try decoderMapping(x)
        let wHist = try histogramEncoder(histograms)
        var image: Tensor?
        for (i, b) in head.enumerated() {
            let layer = 2 * i
            x = try b.conv0(x, w: wHist, noise: noise?.noise(layer: layer, shape: [n, 1, b.resolution, b.resolution], on: images.backend))
            if skipToHead { x = try x + skips[i](features[b.resolution]!, w: wHist) }
            x = try b.conv1(x, w: wHist, noise: noise?.noise(layer: layer + 1, shape: [n, 1, b.resolution, b.resolution], on: images.backend))
            let rgb = try b.toRGB(x, w: wHist)
            image = try image.map { try upsample2x($0, filter: filter) + rgb } ?? rgb
        }
        return image!
    }
}
