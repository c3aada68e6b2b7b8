import CZlib
import Foundation

/// Reading gzip files (zlib's `gzopen`/`gzread`; a file that is not gzip'd is read as is).
public enum Gzip {
    /// The decompressed contents of `path`. Throws `TensorFileError.unreadable` naming the file when it is
    /// missing, unreadable or a corrupt gzip stream.
    public static func read(_ path: String) throws -> [UInt8] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TensorFileError.unreadable(path: path, reason: "no such file or not readable")
        }
        guard let file = gzopen(path, "rb") else {
            throw TensorFileError.unreadable(path: path, reason: "gzopen failed")
        }
        defer { gzclose(file) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "error \(code)"
                throw TensorFileError.unreadable(path: path, reason: "gzip: \(message)")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        // A stream cut short ends like a file (gzread returns the partial data) with Z_BUF_ERROR set.
        var code: Int32 = 0
        let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
        guard code == Z_OK else { throw TensorFileError.unreadable(path: path, reason: "gzip: \(message.isEmpty ? "error \(code)" : message)") }
        return out
    }
}
