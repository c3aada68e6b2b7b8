import Foundation

/// A float32 array as stored in a NumPy `.npy` file: C-order values and their shape.
public struct NumPyArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    /// An array of `shape` (`values.count == Π shape`).
    public init(shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw NumPyFileError.invalidArray("\(values.count) values for shape \(shape)")
        }
        self.shape = shape; self.values = values
    }

    /// The contents of `tensor`, copied to the host.
    public init(_ tensor: Tensor) throws {
        try self.init(shape: tensor.shape, values: tensor.array())
    }
}

/// Why a `.npy` file could not be read or written; every file-related case names the file.
public enum NumPyFileError: Error, CustomStringConvertible, Sendable, Equatable {
    case notFound(path: String)
    case unreadable(path: String, reason: String)
    /// Not a `.npy` file, or one this reader does not handle (dtype, Fortran order, version).
    case invalidFormat(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case invalidArray(String)

    public var description: String {
        switch self {
        case let .notFound(path): return "\(path): no such file"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .invalidFormat(path, reason): return "\(path): not a readable .npy file: \(reason)"
        case let .writeFailed(path, reason): return "\(path): cannot write: \(reason)"
        case let .invalidArray(detail): return "invalid array: \(detail)"
        }
    }
}

/// NumPy's `.npy` format, version 1.0: magic `\x93NUMPY`, version bytes, a little-endian UInt16
/// header length, an ASCII dict `{'descr': '<f4', 'fortran_order': False, 'shape': (…), }` padded with
/// spaces and a newline so the data starts at a multiple of 64 bytes, then the C-order values.
public enum NumPyFile {
    /// Writes `array` as `<f4` to `path` (atomically).
    public static func write(_ array: NumPyArray, to path: String) throws {
        do { try Data(encode(array)).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw NumPyFileError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }

    /// The bytes of a version 1.0 `.npy` file holding `array` as little-endian float32.
    public static func encode(_ array: NumPyArray) -> [UInt8] {
        let dims = array.shape.map(String.init)
        let shape = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        out += [UInt8(length & 0xFF), UInt8(length >> 8)]
        out += Array(header.utf8)
        out.reserveCapacity(out.count + 4 * array.values.count)
        for v in array.values {
            let bits = v.bitPattern.littleEndian
            out += [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
        }
        return out
    }

    /// Reads a `.npy` file of dtype `<f4` or `<f8` (converted to Float) in C order, format 1.0–3.0.
    public static func read(_ path: String) throws -> NumPyArray {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw NumPyFileError.notFound(path: path) }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw NumPyFileError.unreadable(path: path, reason: isDirectory.boolValue ? "is a directory" : "permission denied")
        }
        return try decode([UInt8](data), name: path)
    }

    /// Parses `.npy` bytes; `name` is used in errors.
    public static func decode(_ bytes: [UInt8], name: String) throws -> NumPyArray {
        func fail(_ reason: String) -> NumPyFileError { .invalidFormat(path: name, reason: reason) }
        guard bytes.count >= 10, bytes.starts(with: [0x93] + Array("NUMPY".utf8)) else { throw fail("no \\x93NUMPY magic") }
        let major = bytes[6]
        guard (1...3).contains(major) else { throw fail("format version \(major).\(bytes[7])") }
        let lengthBytes = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthBytes else { throw fail("truncated header") }
        let headerLength = bytes[8..<(8 + lengthBytes)].reversed().reduce(0) { $0 << 8 | Int($1) }
        let start = 8 + lengthBytes + headerLength
        guard bytes.count >= start else { throw fail("truncated header") }
        let header = String(decoding: bytes[(8 + lengthBytes)..<start], as: UTF8.self)
        guard let descr = field(header, "descr").map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }) else {
            throw fail("no descr in header")
        }
        guard field(header, "fortran_order") == "False" else { throw fail("Fortran order is not supported") }
        guard let shapeText = field(header, "shape") else { throw fail("no shape in header") }
        let shape = try shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { text -> Int in
                guard let v = Int(text), v >= 0 else { throw fail("bad shape \(shapeText)") }
                return v
            }
        let count = shape.reduce(1, *)
        let width: Int
        switch descr {
        case "<f4": width = 4
        case "<f8": width = 8
        default: throw fail("dtype \(descr) (only <f4 and <f8 are read)")
        }
        guard bytes.count - start >= count * width else { throw fail("data holds \(bytes.count - start) bytes, shape \(shape) needs \(count * width)") }
        let values = (0..<count).map { i -> Float in
            let o = start + i * width
            let bits = bytes[o..<(o + width)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return width == 4 ? Float(bitPattern: UInt32(bits)) : Float(Double(bitPattern: bits))
        }
        return try NumPyArray(shape: shape, values: values)
    }

    /// The raw text of `key`'s value in a header dict such as `{'descr': '<f4', 'shape': (2, 3), }`.
    static func field(_ header: String, _ key: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\""),
              let colon = header[keyRange.upperBound...].firstIndex(of: ":") else { return nil }
        var rest = header[header.index(after: colon)...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<end] }
        return rest.trimmingCharacters(in: .whitespaces)
    }
}
