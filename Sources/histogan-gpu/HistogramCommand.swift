import ArgumentParser
import Engine
import Foundation
import HistoGAN

extension HistogramKernel: ExpressibleByArgument {}
extension HistogramResize: ExpressibleByArgument {}

struct HistogramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "histogram",
        abstract: "Compute HistoGAN RGB-uv histograms of images, or compare two images' histograms.",
        discussion: """
        Writes a NumPy .npy float32 array [N, 3, bins, bins] (images in the order given; channel R, G, B;
        rows u, columns v from -3 to 3), e.g. numpy.load("h.npy"). --plot draws each image with its three
        u-v histograms. --compare A B prints the Hellinger distance and KL divergences instead.
        """)

    @Argument(help: ArgumentHelp("PNG or JPEG images.", valueName: "image"))
    var images: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the histograms to this .npy file.", valueName: "file"))
    var output: String?

    @Option(help: "Bins per axis.")
    var bins = 64

    @Option(help: ArgumentHelp("inverse-quadratic, gaussian or threshold.", valueName: "kernel"))
    var kernel = HistogramKernel.inverseQuadratic

    @Option(help: "Kernel width (inverse-quadratic and gaussian).")
    var sigma: Float = 0.02

    @Option(help: ArgumentHelp("How images larger than --max-size are reduced: interpolation or sampling.", valueName: "mode"))
    var resize = HistogramResize.interpolation

    @Option(name: .customLong("max-size"), help: "Images taller or wider than this are reduced first.")
    var maxSize = 150

    @Option(help: ArgumentHelp("Also draw the histograms to this PNG file.", valueName: "file"))
    var plot: String?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Compare two images instead.", valueName: "A B"))
    var compare: [String] = []

    @OptionGroup var deviceOption: DeviceOption

    var options: HistogramOptions {
        HistogramOptions(bins: bins, kernel: kernel, sigma: sigma, resize: resize, maxSize: maxSize)
    }

    func validate() throws {
        guard (1...HistogramOptions.maxBins).contains(bins) else {
            throw ValidationError("--bins \(bins): must be between 1 and \(HistogramOptions.maxBins)")
        }
        guard sigma > 0, sigma.isFinite else { throw ValidationError("--sigma \(sigma): must be positive") }
        guard maxSize > 0 else { throw ValidationError("--max-size \(maxSize): must be positive") }
        if !compare.isEmpty {
            guard compare.count == 2 else { throw ValidationError("--compare takes exactly two images, got \(compare.count)") }
            guard images.isEmpty, output == nil, plot == nil else {
                throw ValidationError("--compare A B takes no other images, --output or --plot")
            }
            return
        }
        guard !images.isEmpty else { throw ValidationError("give at least one image (or --compare A B)") }
        guard output != nil else { throw ValidationError("--output FILE.npy is required") }
    }

    func run() throws {
        let tool = HistogramTool(backend: try deviceOption.makeBackend(), options: options)
        if !compare.isEmpty {
            let result = try tool.compare(compare[0], compare[1])
            print("A: \(compare[0])")
            print("B: \(compare[1])")
            print(String(format: "Hellinger distance  %.6f", result.hellinger))
            print(String(format: "KL(A||B)            %.6f nats", result.klAB))
            print(String(format: "KL(B||A)            %.6f nats", result.klBA))
            return
        }
        guard let output else { return }
        let histograms = try tool.run(paths: images, output: output, plot: plot)
        print("wrote \(output): float32 \(histograms.shape) on \(tool.backend.info.selector)")
        if let plot { print("wrote \(plot)") }
    }
}
