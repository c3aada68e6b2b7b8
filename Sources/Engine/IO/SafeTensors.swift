import Foundation

/// Errors reading or writing tensor files; each names the file.
public enum TensorFileError: Error, CustomStringConvertible, Sendable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .malformed(path, reason): return "\(path): not a valid safetensors file: \(reason)"
        }
    }
}

/// The safetensors format (Hugging Face): 8-byte little-endian header length, a JSON header
/// `{name: {dtype: "F32", shape: [...], data_offsets: [begin, end]}, "__metadata__": {String: String}}`,
/// then the raw little-endian data. Only F32 tensors are written and read.
public enum SafeTensors {
    /// One named tensor on the host.
    public struct Entry: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    /// Serialises `tensors` (sorted by name) and `metadata`.
    public static func encode(_ tensors: [String: Entry], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            precondition(t.values.count == t.shape.reduce(1, *), "\(name): values do not match shape")
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
            offset += 4 * t.values.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }   // pad with spaces to 8-byte alignment
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            tensors[name]!.values.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: 4 * $0.count)) }
        }
        return data
    }

    /// Parses a safetensors file's bytes; `path` is used in error messages.
    public static func decode(_ data: Data, path: String) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        guard data.count >= 8 else { throw TensorFileError.malformed(path: path, reason: "shorter than 8 bytes") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw TensorFileError.malformed(path: path, reason: "header length \(headerLength) exceeds file size \(data.count)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw TensorFileError.malformed(path: path, reason: "header is not a JSON object")
        }
        let body = data.subdata(in: (8 + Int(headerLength))..<data.count)
        var tensors: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw TensorFileError.malformed(path: path, reason: "bad entry for '\(name)'")
            }
            guard dtype == "F32" else { throw TensorFileError.malformed(path: path, reason: "'\(name)' has dtype \(dtype), only F32 is supported") }
            let count = shape.reduce(1, *)
            guard offsets[0] >= 0, offsets[1] == offsets[0] + 4 * count, offsets[1] <= body.count else {
                throw TensorFileError.malformed(path: path, reason: "'\(name)' data offsets \(offsets) do not fit shape \(shape) in \(body.count) bytes")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { dst in
                body.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offsets[0]..<offsets[1]])) }
            }
            tensors[name] = Entry(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// Writes atomically: a temporary file in the same directory, fsync, rename.
    public static func write(_ tensors: [String: Entry], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(encode(tensors, metadata: metadata), to: path)
    }

    public static func read(_ path: String) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TensorFileError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try decode(data, path: path)
    }
}

/// Crash-safe file replacement: write a temporary sibling, fsync it, rename over the target, fsync the directory.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = "\(dir)/.\(url.lastPathComponent).tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TensorFileError.unreadable(path: path, reason: "cannot create \(temp): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temp, path) == 0 else {
            unlink(temp)
            throw TensorFileError.unreadable(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
        }
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
