// Minibatch standard deviation (StyleGAN2's MinibatchStdLayer, one feature): one fused kernel each way
// (`Backend.minibatchStddev`, `minibatchStddevBackward`, minibatch_stddev.cl), a VJP written with Engine ops while
// recording (R1's gradient of a gradient), and `minibatchStddevReference` composed of reduce / elementwise / layout
// primitives, which is what the discriminator ran before (27 launches for a forward and its backward instead of 2).

extension Tensor {
    /// Appends one feature map: the std-dev over groups of `G = min(groupSize, N)` samples (lowered until it divides
    /// N), averaged over channels and pixels. Sample `n = k·(N/G) + m` belongs to group m.
    /// x `[N, C, H, W]` → `[N, C+1, H, W]`.
    public func minibatchStddev(groupSize: Int) throws -> Tensor {
        let s = try minibatchStddevShape(groupSize)
        let y = try Tensor.empty([s.batch, s.channels + 1, s.height, s.width], on: backend)
        try Profiler.measure("minibatchStddev", backend) { try backend.minibatchStddev(s, x: buffer, y: y.buffer) }
        let x = self
        return y.recorded("minibatchStddev", [x]) { g in
            if Autograd.isRecording { return [try Tensor.minibatchStddevVJP(x, gradient: g, shape: s)] }
            let dx = try Tensor.empty(x.shape, on: x.backend)
            try Profiler.measure("minibatchStddevBackward", x.backend) {
                try x.backend.minibatchStddevBackward(s, x: x.buffer, gradOutput: g.buffer, gradInput: dx.buffer)
            }
            return [dx]
        }
    }

    /// `minibatchStddev` composed of primitives (reshape, mean, subtract, square, sqrt, expand, concat).
    public func minibatchStddevReference(groupSize: Int) throws -> Tensor {
        let s = try minibatchStddevShape(groupSize)
        let (n, g, m, c, h, w) = (s.batch, s.group, s.groups, s.channels, s.height, s.width)
        let y = try reshaped([g, m, c, h, w])
        let centred = try y - y.mean(axes: [0], keepDims: true)
        let std = try (centred.map(.square).mean(axes: [0]) + s.epsilon).map(.sqrt)       // [M, C, H, W]
        let feature = try std.mean(axes: [1, 2, 3]).reshaped([1, m, 1, 1, 1])
        let tiled = try feature.expanded(to: [g, m, 1, h, w]).reshaped([n, 1, h, w])
        return try Tensor.concat([self, tiled], axis: 1)
    }

    /// The launch shape for x = self `[N, C, H, W]`, the group size lowered as NVlabs does (`MinibatchStddevShape.group`).
    func minibatchStddevShape(_ groupSize: Int) throws -> MinibatchStddevShape {
        guard rank == 4, groupSize > 0 else {
            throw EngineError.shapeMismatch(op: "minibatchStddev", detail: "x \(shape) (need [N, C, H, W]), group size \(groupSize)")
        }
        return MinibatchStddevShape(batch: shape[0], group: MinibatchStddevShape.group(groupSize, batch: shape[0]),
                                    channels: shape[1], height: shape[2], width: shape[3])
    }

    /// The VJP with Engine ops, so it can be differentiated again:
    /// `dx = g[:, :C] + d_m·(x − μ)/(G·C·H·W·s)`, d_m = Σ g[kM+m, C, ·, ·] over k and the pixels.
    static func minibatchStddevVJP(_ x: Tensor, gradient g: Tensor, shape s: MinibatchStddevShape) throws -> Tensor {
        let (gs, m, c, h, w) = (s.group, s.groups, s.channels, s.height, s.width)
        let y = try x.reshaped([gs, m, c, h, w])
        let centred = try y - y.mean(axes: [0], keepDims: true)
        let std = try (centred.map(.square).mean(axes: [0], keepDims: true) + s.epsilon).map(.sqrt)   // [1, M, C, H, W]
        let d = try g.sliced(axis: 1, c..<(c + 1)).reshaped([gs, m, 1, h, w]).sum(axes: [0, 2, 3, 4], keepDims: true)
        let feature = try centred / std * d * (1 / Float(gs * s.sampleCount))
        return try g.sliced(axis: 1, 0..<c) + feature.reshaped(x.shape)
    }
}
