import Engine

/// The histogram side of HistoGAN training: differentiable RGB-uv histograms of generator output and the
/// Hellinger loss against target histograms (DESIGN.md §6).
public enum HistogramLoss {
    /// Histograms `[N, 3, bins, bins]` of images `[N, 3, H, W]` in [-1, 1] (mapped to [0, 1] first); gradients
    /// flow back to the images through the fused backward kernel.
    public static func histograms(ofGenerated images: Tensor, options: HistogramOptions) throws -> Tensor {
        try Tensor.rgbuvHistogram((images + 1) * 0.5, options: options)
    }

    /// The histogram loss of generated histograms against targets, both `[N, 3, bins, bins]`, weighted by α:
    /// - `.batch`: `α·(1/√2)·‖√T − √G‖₂ / N` over the whole batch (`Tensor.histogramLoss`, the official code);
    /// - `.sample`: `α · mean_i (1/√2)·‖√T_i − √G_i‖₂`, the mean Hellinger distance.
    public static func loss(_ histograms: Tensor, target: Tensor, alpha: Float,
                            reduction: HistogramLossReduction = .batch) throws -> Tensor {
        switch reduction {
        case .batch:
            return try Tensor.histogramLoss(target: target, generated: histograms, weight: alpha)
        case .sample:
            guard target.shape == histograms.shape, target.rank == 4 else {
                throw EngineError.shapeMismatch(op: "histogramLoss", detail: "target \(target.shape), generated \(histograms.shape)")
            }
            // The 1e-12 terms keep √'s gradient finite at empty bins and at identical histograms.
            let difference = try (target + 1e-12).map(.sqrt) - (histograms + 1e-12).map(.sqrt)
            let distances = try (difference.map(.square).sum(axes: [1, 2, 3]) + 1e-12).map(.sqrt)   // [N]
            return try distances.mean() * (alpha / Float(2).squareRoot())
        }
    }
}
