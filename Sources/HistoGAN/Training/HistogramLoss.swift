import Engine

/// The histogram side of HistoGAN training: differentiable RGB-uv histograms of generator output and the
/// Hellinger loss against target histograms (DESIGN.md §6).
public enum HistogramLoss {
    /// Histograms `[N, 3, bins, bins]` of images `[N, 3, H, W]` in [-1, 1] (mapped to [0, 1] first); gradients
    /// flow back to the images through the fused backward kernel.
    public static func histograms(ofGenerated images: Tensor, options: HistogramOptions) throws -> Tensor {
        try Tensor.rgbuvHistogram((images + 1) * 0.5, options: options)
    }

    /// HistoGAN's histogram loss of generated histograms against targets (`Tensor.histogramLoss`, the official
    /// definition), weighted by α.
    public static func loss(_ histograms: Tensor, target: Tensor, alpha: Float) throws -> Tensor {
        try Tensor.histogramLoss(target: target, generated: histograms, weight: alpha)
    }
}
