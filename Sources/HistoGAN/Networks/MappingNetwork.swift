import Engine

/// z → normalise 2nd moment → `mappingLayers` FC (leaky ReLU, lr multiplier 0.01) → w. Tracks the running
/// mean of w (β = 0.995) for truncation.
public final class MappingNetwork {
    public let layers: [FullyConnected]
    public let latentDim: Int
    /// Running mean of w, `[latentDim]` (not a trained parameter; saved with checkpoints).
    public var wAverage: Tensor

    public init(config: NetworkConfig, init rng: inout ParameterInitializer) throws {
        latentDim = config.latentDim
        layers = try (0..<config.mappingLayers).map {
            try FullyConnected("mapping.fc\($0)", in: config.latentDim, out: config.latentDim, activation: .leakyReLU,
                               lrMultiplier: 0.01, init: &rng)
        }
        wAverage = try Tensor.zeros([config.latentDim], on: rng.backend)
    }

    public var parameters: ParameterCollection {
        var c = ParameterCollection()
        for l in layers { c.append(contentsOf: l.parameters) }
        return c
    }

    /// z `[N, latentDim]` → w `[N, latentDim]`. With `updateAverage`, w_avg ← lerp(mean w, w_avg, 0.995).
    public func callAsFunction(_ z: Tensor, updateAverage: Bool = false) throws -> Tensor {
        // x · rsqrt(mean(x²) + 1e-8) per sample.
        var x = try z * (z.map(.square).mean(axes: [1], keepDims: true) + 1e-8).map(.rsqrt)
        for layer in layers { x = try layer(x) }
        if updateAverage { try self.updateAverage(toward: Self.batchMean(x)) }
        return x
    }

    /// The mean of w over the batch, `[latentDim]`, without gradient (what `updateAverage` moves toward).
    public static func batchMean(_ w: Tensor) throws -> Tensor {
        try Autograd.withoutGrad { try w.detached().mean(axes: [0]) }
    }

    /// w_avg ← lerp(mean, w_avg, 0.995) for a batch mean `[latentDim]` (data-parallel training applies every
    /// micro-batch's mean in order after the step's all-reduce).
    public func updateAverage(toward mean: Tensor) throws {
        try mean.backend.emaUpdate(wAverage.buffer, toward: mean.buffer, beta: 0.995, count: latentDim)
    }

    /// Truncation toward w_avg: `w_avg + ψ·(w − w_avg)`.
    public func truncate(_ w: Tensor, psi: Float) throws -> Tensor {
        if psi == 1 { return w }
        return try wAverage + (w - wAverage) * psi
    }
}

/// Histogram encoder: flatten `[N, 3, B, B]` → scale (`HistogramInput`) → FC 1024 → FC 512 → 6 × FC 512 (leaky ReLU) → w_hist `[N, 512]`
/// (512 = latentDim). It styles every layer of the last two synthesis blocks.
public final class HistogramEncoder {
    public let layers: [FullyConnected]
    let inputSize: Int
    let input: HistogramInput

    public init(config: NetworkConfig, init rng: inout ParameterInitializer) throws {
        inputSize = 3 * config.histogramBins * config.histogramBins
        input = config.histogramInput
        let w = config.latentDim
        let hidden = max(w, 2 * w)
        var layers = [try FullyConnected("histenc.fc0", in: inputSize, out: hidden, activation: .leakyReLU, init: &rng),
                      try FullyConnected("histenc.fc1", in: hidden, out: w, activation: .leakyReLU, init: &rng)]
        for i in 2..<8 {
            layers.append(try FullyConnected("histenc.fc\(i)", in: w, out: w, activation: .leakyReLU, init: &rng))
        }
        self.layers = layers
    }

    public var parameters: ParameterCollection {
        var c = ParameterCollection()
        for l in layers { c.append(contentsOf: l.parameters) }
        return c
    }

    /// histograms `[N, 3, B, B]` → w_hist `[N, latentDim]`, reading them as `input` says.
    public func callAsFunction(_ histograms: Tensor) throws -> Tensor {
        var x = try HistogramEncoder.prepare(histograms.reshaped([histograms.shape[0], inputSize]), input)
        for layer in layers { x = try layer(x) }
        return x
    }

    /// The encoder's input vector `[N, 3·B²]` from flattened histograms `[N, 3·B²]` (see `HistogramInput`).
    static func prepare(_ h: Tensor, _ input: HistogramInput) throws -> Tensor {
        switch input {
        case .raw:
            return h
        case .normalized:
            return try h * (h.map(.square).mean(axes: [1], keepDims: true) + 1e-8).map(.rsqrt)
        case .sqrtNormalized:
            // mean((√H)²) = mean(H); the 1e-12 keeps the gradient of √ finite at empty bins.
            let root = try (h.map(.relu) + 1e-12).map(.sqrt)
            return try root * (h.mean(axes: [1], keepDims: true) + 1e-8).map(.rsqrt)
        }
    }
}
