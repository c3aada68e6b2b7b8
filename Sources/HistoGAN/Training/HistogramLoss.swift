import Engine

/// The histogram side of HistoGAN training: differentiable RGB-uv histograms of generator output and the
/// Hellinger loss against target histograms (DESIGN.md §6).
public enum HistogramLoss {
    /// Histograms `[N, 3, bins, bins]` of images `[N, 3, H, W]` in [-1, 1] (mapped to [0, 1] first); gradients
    /// flow back to the images through the fused backward kernel.
    public static func histograms(ofGenerated images: Tensor, options: HistogramOptions) throws -> Tensor {
        try Tensor.rgbuvHistogram((images + 1) * 0.5, options: options)
    }

    /// Per-image Hellinger distance `(1/√2)·‖√H_target − √H‖₂`, `[N]`. A 1e-12 inside each square root keeps
    /// the gradient finite at empty bins and at identical histograms (it changes the value by < 1e-6).
    public static func hellinger(_ histograms: Tensor, target: Tensor) throws -> Tensor {
        let diff = try (target + 1e-12).map(.sqrt) - (histograms + 1e-12).map(.sqrt)
        return try (diff.sumOfSquares(axes: [1, 2, 3]) + 1e-12).map(.sqrt) * Float(0.5).squareRoot()
    }

    /// HistoGAN's histogram loss: α · mean over the batch of the Hellinger distance.
    public static func loss(_ histograms: Tensor, target: Tensor, alpha: Float) throws -> Tensor {
        try hellinger(histograms, target: target).mean() * alpha
    }
}
