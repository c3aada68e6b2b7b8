import Engine

/// HistoGAN: networks, the RGB-uv histogram, training and sampling (built in later issues).
public enum HistoGAN {
    /// Version of the histogan-gpu library.
    public static let version = "0.1.0"
}
