import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Time the conv and GEMM tile shapes of a network's training step and save the fastest as this device's tuning table.",
        discussion: """
            The table is written beside the kernel binaries (HISTOGAN_KERNEL_CACHE, else ~/.cache/histogan-gpu/kernels), \
            keyed by device, driver and kernel sources; the OpenCL backend reads it at start. HISTOGAN_TUNING=off ignores it.
            """)

    @OptionGroup var deviceOption: DeviceOption
    @OptionGroup var network: NetworkFlags

    @Option(help: "Images per step (the batch the shapes are taken from).")
    var batch = 4

    @Option(name: .customLong("timed-runs"), help: "Timed runs per candidate (the minimum counts), after one warm run.")
    var timedRuns = 3

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be > 0") }
        guard timedRuns > 0 else { throw ValidationError("--timed-runs must be > 0") }
        guard !deviceOption.tf32 else {
            throw ValidationError("--tf32: tune times the fp32 kernels; their table serves the TF32 GEMMs too (same tiles)")
        }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        guard backend.info.kind == .opencl else {
            throw ValidationError("tune needs an OpenCL device; \(backend.info.selector) is the CPU backend (try --device opencl)")
        }
        print("tuning on \(backend.info.selector) (\(backend.info.name), driver \(backend.info.driverVersion))")
        let options = TrainingOptions(network: network.config, batch: batch)
        let settings = TuningSettings.fromEnvironment()
        let result = try NetworkTuning.tune(options: options, backend: backend, settings: settings, timedRuns: timedRuns) { line in
            print(line)
        }
        let pad = { (text: String, width: Int) in text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        print("\n" + pad("shape class", 44) + pad("shape", 44) + " heuristic ms    best ms  speed-up  chosen")
        var heuristicTotal = 0.0, bestTotal = 0.0
        for e in result.measured {
            heuristicTotal += e.heuristicMilliseconds; bestTotal += e.bestMilliseconds
            print(pad(e.shapeClass.description, 44) + pad(e.shape, 44)
                  + String(format: " %12.3f %10.3f %8.2fx  ", e.heuristicMilliseconds, e.bestMilliseconds,
                           e.heuristicMilliseconds / max(e.bestMilliseconds, 1e-9)) + e.choice.description)
        }
        print(String(format: "total over classes: heuristic %.1f ms, best %.1f ms (%.2fx)", heuristicTotal, bestTotal,
                     heuristicTotal / max(bestTotal, 1e-9)))
        if let path = result.path {
            print("wrote \(path)" + (settings.enabled ? "" : " (HISTOGAN_TUNING is off: runs will ignore it)"))
        } else {
            print("no kernel cache directory (HISTOGAN_KERNEL_CACHE=off or no HOME): the table was not saved")
        }
    }
}
