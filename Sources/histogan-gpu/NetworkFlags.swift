import ArgumentParser
import Engine
import HistoGAN

/// Network size flags shared by `train` and `profile`.
struct NetworkFlags: ParsableArguments {
    @Option(help: "Image resolution: 32, 64, 128 or 256.")
    var resolution = 64

    @Option(help: "Channel multiplier (1 = the paper's network; 0.25 is a small, fast config).")
    var capacity = 0.25

    @Option(help: "Size of z and w.")
    var latent = 512

    @Option(name: .customLong("mapping-layers"), help: "Layers of the mapping network.")
    var mappingLayers = 8

    @Option(help: "Histogram bins per axis.")
    var bins = 64

    @Option(name: .customLong("hist-input"), help: "What the histogram encoder reads: sqrt-normalized (√H at unit second moment), normalized (H at unit second moment) or raw (H; the encoder then barely learns).")
    var histInput: HistogramInput = .sqrtNormalized

    @Option(name: .customLong("upsample-conv"), help: "Up-sampling convolutions: transposed (NVlabs: stride-2 transposed conv, then FIR) or fir-then-conv (FIR up, then a 3x3 conv at 2x; 4x the work).")
    var upsampleConv: UpsampleConv = .transposed

    @Option(name: .customLong("modconv"), help: "Modulated convolutions: fused (per-sample weights, grouped conv; NVlabs fused_modconv) or split (styles and demodulation on the activations, one conv with the shared weight). Same parameters either way.")
    var modconv: ModconvMode = .defaultMode

    func validate() throws {
        guard [8, 16, 32, 64, 128, 256, 512, 1024].contains(resolution) else {
            throw ValidationError("--resolution \(resolution): must be a power of two from 8 to 1024 (32-256 are the tested sizes)")
        }
        guard capacity > 0 else { throw ValidationError("--capacity must be > 0") }
        guard latent > 0, mappingLayers > 0 else { throw ValidationError("--latent and --mapping-layers must be > 0") }
        guard bins >= 2, bins <= HistogramOptions.maxBins else { throw ValidationError("--bins must be in 2...\(HistogramOptions.maxBins)") }
    }

    var config: NetworkConfig {
        NetworkConfig(resolution: resolution, capacity: capacity, latentDim: latent, mappingLayers: mappingLayers, histogramBins: bins,
                      histogramInput: histInput, upsampleConv: upsampleConv,
                      modconv: modconv)
    }
}

extension HistogramInput: ExpressibleByArgument {}
extension UpsampleConv: ExpressibleByArgument {}
extension ModconvMode: ExpressibleByArgument {}
