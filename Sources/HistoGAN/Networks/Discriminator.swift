import Engine

/// StyleGAN2 residual discriminator: fromRGB 1x1 at R; per block r = R…8: conv 3x3, conv 3x3 + 2x down,
/// skip 1x1 + 2x down (no bias), `(skip + main)·√½`; epilogue at 4x4: minibatch stddev (group ≤ 4, 1 feature),
/// conv 3x3, FC, FC → one logit per image.
public final class Discriminator {
    public let config: NetworkConfig
    public let fromRGB: Conv2dLayer
    public let blocks: [(resolution: Int, conv0: Conv2dLayer, conv1: Conv2dLayer, skip: Conv2dLayer)]
    public let epilogueConv: Conv2dLayer
    public let fc: FullyConnected
    public let out: FullyConnected
    /// Minibatch-stddev group size (NVlabs `mbstd_group_size`).
    public var mbstdGroup: Int { config.mbstdGroup }

    public init(config: NetworkConfig, init rng: inout ParameterInitializer) throws {
        self.config = config
        let r = config.resolution
        let clamp = config.convClamp
        fromRGB = try Conv2dLayer("disc.fromrgb", in: 3, out: config.channels(at: r), kernel: 1, activation: .leakyReLU,
                                  clamp: clamp, init: &rng)
        var blocks: [(Int, Conv2dLayer, Conv2dLayer, Conv2dLayer)] = []
        var res = r
        while res > 4 {
            let (i, o) = (config.channels(at: res), config.channels(at: res / 2))
            blocks.append((res,
                           try Conv2dLayer("disc.b\(res).conv0", in: i, out: i, kernel: 3, activation: .leakyReLU, clamp: clamp, init: &rng),
                           try Conv2dLayer("disc.b\(res).conv1", in: i, out: o, kernel: 3, activation: .leakyReLU, down: 2, clamp: clamp, init: &rng),
                           try Conv2dLayer("disc.b\(res).skip", in: i, out: o, kernel: 1, bias: false, down: 2, init: &rng)))
            res /= 2
        }
        self.blocks = blocks
        let c4 = config.channels(at: 4)
        epilogueConv = try Conv2dLayer("disc.b4.conv", in: c4 + 1, out: c4, kernel: 3, activation: .leakyReLU, clamp: clamp, init: &rng)
        fc = try FullyConnected("disc.b4.fc", in: c4 * 16, out: c4, activation: .leakyReLU, init: &rng)
        out = try FullyConnected("disc.b4.out", in: c4, out: 1, init: &rng)
    }

    public var parameters: ParameterCollection {
        var c = fromRGB.parameters
        for b in blocks {
            c.append(contentsOf: b.conv0.parameters)
            c.append(contentsOf: b.conv1.parameters)
            c.append(contentsOf: b.skip.parameters)
        }
        c.append(contentsOf: epilogueConv.parameters)
        c.append(contentsOf: fc.parameters)
        c.append(contentsOf: out.parameters)
        return c
    }

    /// images `[N, 3, R, R]` in [-1, 1] → logits `[N, 1]`.
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        var x = try fromRGB(images)
        let half = Float(0.5).squareRoot()
        for b in blocks {
            let skip = try b.skip(x, gain: half)
            let main = try b.conv1(b.conv0(x), gain: half)
            x = try Profiler.withScope("disc.b\(b.resolution).sum") { try skip + main }
        }
        x = try Profiler.withScope("disc.b4.mbstd") { try Discriminator.minibatchStddev(x, groupSize: mbstdGroup) }
        x = try epilogueConv(x)
        x = try fc(x.reshaped([x.shape[0], -1]))
        return try out(x)
    }

    /// Appends one feature map: the std-dev over groups of `min(G, N)` samples, averaged over channels
    /// and pixels (NVlabs MinibatchStdLayer with 1 channel; `Tensor.minibatchStddev`, one kernel each way).
    /// x `[N, C, H, W]` → `[N, C+1, H, W]`.
    public static func minibatchStddev(_ x: Tensor, groupSize: Int) throws -> Tensor {
        try x.minibatchStddev(groupSize: groupSize)
    }
}
