import Foundation

/// Times NumPy's `a @ b` (OpenBLAS SGEMM) in a `python3` subprocess, for the CPU GEMM ratio in `bench`.
public enum NumPyReference {
    /// GFLOP/s of float32 `a @ b` for n×n×n, or nil when python3/numpy is unavailable.
    public static func gemmGFLOPS(n: Int, minimumSeconds: Double = 1) -> Double? {
        let script = """
        import time, numpy as np
        n = \(n)
        a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
        a @ b
        t = time.perf_counter(); k = 0
        while True:
            a @ b; k += 1
            e = time.perf_counter() - t
            if e >= \(minimumSeconds): break
        print(2 * n**3 * k / e / 1e9)
        """
        guard let output = runPython(script) else { return nil }
        return Double(output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// stdout of `python3 -c script arguments…`, or nil when python3 is missing or the script fails.
    static func runPython(_ script: String, arguments: [String] = []) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
