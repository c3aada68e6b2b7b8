import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time every kernel on realistic StyleGAN2 shapes and print ms, GFLOP/s or GB/s.",
        discussion: "On the CPU backend it also times NumPy's a @ b (1024³) and a NumPy RGB-uv histogram fwd+bwd right after, and prints the ratios.")

    @OptionGroup var deviceOption: DeviceOption

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    @Flag(help: "Small shapes only (a quick smoke run).")
    var quick = false

    @Option(help: "Minimum seconds spent timing each kernel.")
    var seconds: Double = 0.5

    @Option(help: ArgumentHelp("Only the kernel families whose name contains this text; several texts separated by commas (e.g. gemm or gemm,modconv).",
                               discussion: "Families: \(KernelBenchmark.families.joined(separator: ", ")).", valueName: "text"))
    var only: String?

    func validate() throws {
        guard let only else { return }
        for text in only.split(separator: ",").map(String.init)
        where !KernelBenchmark.families.contains(where: { KernelBenchmark.matches($0, text) }) {
            throw ValidationError("--only \(only): no kernel family matches '\(text)'; the families are \(KernelBenchmark.families.joined(separator: ", "))")
        }
    }

    func run() throws {
        let backend = try deviceOption.makeBackend()
        print("device: \(backend.info.selector) — \(backend.info.name); products (GEMM, conv) in \(backend.matmulArithmetic.rawValue); "
              + "3x3 convs: \(backend.convAlgorithm.rawValue)")
        print("kernel                         shape                  ms   GFLOP/s    GB/s")
        let bench = KernelBenchmark(backend: backend, quick: quick, minimumSeconds: seconds, only: only)
        let results = try bench.run { r in
            let gf = r.gflops.map { String(format: "%9.1f", $0) } ?? String(repeating: " ", count: 9)
            let gb = r.gigabytesPerSecond.map { String(format: "%8.1f", $0) } ?? ""
            print("\(r.kernel.padding(toLength: 30, withPad: " ", startingAt: 0)) \(r.shape.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(format: "%9.3f", r.milliseconds)) \(gf) \(gb)")
            fflush(nil)
        }
        var report: [String: AnyCodable] = ["device": .string(backend.info.selector), "deviceName": .string(backend.info.name),
                                            "matmulArithmetic": .string(backend.matmulArithmetic.rawValue),
                                            "convAlgorithm": .string(backend.convAlgorithm.rawValue)]
        var all = results
        if backend.info.kind == .cpu, bench.runs("histogram") {
            let numpy = HistogramBenchmark(backend: backend, size: quick ? 64 : 256, minimumSeconds: seconds).numPy { r in
                guard let ours = results.first(where: { $0.kernel == r.kernel.replacingOccurrences(of: "numpy ", with: "") }) else { return }
                print(String(format: "%@: ours %.2f ms, NumPy %.2f ms, %.1fx faster", ours.kernel, ours.milliseconds, r.milliseconds,
                             r.milliseconds / ours.milliseconds))
            }
            if numpy.isEmpty { print("histogram: NumPy not available for the comparison") }
            all += numpy
        }
        if backend.info.kind == .cpu, bench.runs("gemm"), let ours = results.first(where: { $0.kernel == "gemm" && $0.shape == "1024x1024x1024" })?.gflops {
            if let numpy = NumPyReference.gemmGFLOPS(n: 1024) {
                print(String(format: "gemm 1024³: ours %.1f GFLOP/s, NumPy/OpenBLAS %.1f GFLOP/s, ratio %.2fx", ours, numpy, ours / numpy))
                report["numpyGemm1024GFLOPS"] = .double(numpy)
                report["gemmRatioToNumPy"] = .double(ours / numpy)
            } else {
                print("gemm 1024³: NumPy not available for the ratio (python3 -c 'import numpy' failed)")
            }
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            report["results"] = .results(all)
            do { try encoder.encode(report).write(to: URL(fileURLWithPath: json), options: .atomic) } catch {
                throw ValidationError("--json \(json): cannot write: \(error.localizedDescription)")
            }
            print("wrote \(json)")
        }
    }
}

/// The few value kinds of the bench JSON report.
enum AnyCodable: Encodable {
    case string(String), double(Double), results([BenchmarkResult])
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .double(let d): try c.encode(d)
        case .results(let r): try c.encode(r)
        }
    }
}
