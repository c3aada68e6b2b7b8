import ArgumentParser
import Engine
import Foundation
import HistoGAN

struct SelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Run every kernel family on a device and compare it with the CPU backend (run this first on a new GPU).",
        discussion: """
        Each case runs one primitive on an awkward shape (odd sizes, broadcasts, offsets, negative pads) with the same \
        seeded inputs on the device and on the CPU reference, outputs poisoned with NaN first, and prints its relative \
        L2 error against its tolerance. Exits with status 1 if any case fails.

        Example:
          histogan-gpu selftest --device opencl:0 --json selftest.json
          histogan-gpu selftest --device opencl:0 --tf32     # also the TF32 tensor-core GEMMs (NVIDIA)
        """)

    @Option(help: ArgumentHelp(
        "auto (first OpenCL device of any type), opencl or opencl:N. With only the CPU there is nothing to compare.",
        valueName: "device"))
    var device: Device?

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Flag(help: "One or two cases per kernel family (a quick smoke run).")
    var quick = false

    @Flag(help: "Then check the TF32 tensor-core GEMMs and convolutions (NVIDIA) on a second backend opened with --tf32.")
    var tf32 = false

    func run() throws {
        guard let backend = try SelfTest.deviceUnderTest(device) else {
            print("selftest: only the CPU backend is available (no OpenCL device chosen or present): nothing to compare.")
            return
        }
        print("device: \(backend.info.selector) — \(backend.info.name); reference: cpu")
        print("\(pad("family", 21)) \(pad("shape", 58)) rel. L2 error  tolerance  result")
        let line = { (r: SelfTestResult) in
            let tolerance = r.tolerance == 0 ? "    exact" : String(format: "%9.0e", r.tolerance)
            let verdict = r.passed ? "pass" : "FAIL" + (r.error.map { " (\($0))" } ?? "")
            print("\(pad(r.family, 21)) \(pad(r.shape, 58)) \(String(format: "%13.3e", r.relativeError))  \(tolerance)  \(verdict)")
            fflush(nil)
        }
        var report = SelfTest(device: backend, quick: quick).run(progress: line)
        if tf32 {
            // The fp32 report first, so that it survives a TF32 part cut short (a new driver's build may hang).
            try write(report, announce: false)
            report = try addTF32(to: report, progress: line)
        }
        print(String(format: "%d passed, %d failed of %d cases in %.1f s", report.passed, report.failed, report.cases.count, report.seconds))
        try write(report, announce: true)
        if !report.allPassed { throw ExitCode.failure }
    }

    /// `report` as JSON to `--json`'s file, if given.
    func write(_ report: SelfTestReport, announce: Bool) throws {
        guard let json else { return }
        do { try report.jsonData().write(to: URL(fileURLWithPath: json), options: .atomic) } catch {
            throw ValidationError("--json \(json): cannot write: \(error.localizedDescription)")
        }
        if announce { print("wrote \(json)") }
    }

    /// `report` with the TF32 cases of a backend opened with `--tf32` (or, where TF32 does not work, why not).
    func addTF32(to report: SelfTestReport, progress: (SelfTestResult) -> Void) throws -> SelfTestReport {
        guard let backend = try SelfTest.deviceUnderTest(device, precision: .tf32) else { return report }
        var combined = report
        guard backend.matmulArithmetic != .fp32 else {
            let why = (backend as? OpenCLBackend)?.precisionNotice ?? "no TF32 path on \(backend.info.selector)"
            print("tf32: not checked: \(why)")
            combined.tf32 = "unavailable: \(why)"
            return combined
        }
        print("tf32 (\(backend.matmulArithmetic.rawValue)): the GEMMs and convolutions against the CPU's fp32 on operands rounded to TF32")
        let extra = SelfTest(device: backend, cases: SelfTest.tf32Cases, quick: quick).run(progress: progress)
        combined = SelfTestReport(device: report.device, deviceName: report.deviceName, reference: report.reference,
                                  cases: report.cases + extra.cases, seconds: report.seconds + extra.seconds)
        combined.tf32 = backend.matmulArithmetic.rawValue
        return combined
    }

    /// `text` padded with spaces to `width` (never cut).
    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
