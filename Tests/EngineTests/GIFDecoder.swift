import Foundation

/// A minimal GIF decoder for the tests, written from the GIF89a specification independently of the
/// writer: it parses blocks strictly (every length and terminator checked) and decodes LZW with the
/// textbook prefix/suffix table.
struct DecodedGIF {
    struct Frame {
        var width: Int, height: Int
        /// Palette indices, `[height, width]`.
        var indices: [UInt8]
        /// The colour table in force (local or global), interleaved RGB.
        var table: [UInt8]
        /// Hundredths of a second, from the graphic control extension (nil when there is none).
        var delay: Int?
        /// Colours, interleaved RGB `[height, width, 3]`.
        var rgb: [UInt8] { indices.flatMap { Array(table[(3 * Int($0))..<(3 * Int($0) + 3)]) } }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    var width = 0, height = 0
    var globalTable: [UInt8]?
    /// NETSCAPE2.0 loop count, nil without the extension.
    var loopCount: Int?
    var frames: [Frame] = []
    /// Clear codes seen in each frame's code stream (the first one included).
    var clearCodes: [Int] = []

    init(_ bytes: [UInt8]) throws {
        var p = 0
        func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard p + n <= bytes.count else { throw Failure("truncated at byte \(p), wanted \(n) more") }
            defer { p += n }
            return bytes[p..<(p + n)]
        }
        func u16() throws -> Int { let s = try take(2); return Int(s.first!) | Int(s.last!) << 8 }
        func u8() throws -> Int { Int(try take(1).first!) }
        func subBlocks() throws -> [UInt8] {
            var out: [UInt8] = []
            while true {
                let n = try u8()
                if n == 0 { return out }
                out += try take(n)
            }
        }
        guard Array(try take(6)) == Array("GIF89a".utf8) else { throw Failure("not GIF89a") }
        width = try u16(); height = try u16()
        let packed = try u8()
        _ = try take(2)
        if packed & 0x80 != 0 { globalTable = Array(try take(3 * (2 << (packed & 7)))) }
        var delay: Int?
        while true {
            switch try u8() {
            case 0x3B:
                guard p == bytes.count else { throw Failure("\(bytes.count - p) bytes after the trailer") }
                return
            case 0x21:
                let label = try u8()
                let data = try subBlocks()
                if label == 0xF9 {
                    guard data.count == 4 else { throw Failure("graphic control extension of \(data.count) bytes") }
                    delay = Int(data[1]) | Int(data[2]) << 8
                } else if label == 0xFF, data.count == 14, Array(data.prefix(11)) == Array("NETSCAPE2.0".utf8), data[11] == 1 {
                    loopCount = Int(data[12]) | Int(data[13]) << 8
                }
            case 0x2C:
                _ = try u16(); _ = try u16()
                let w = try u16(), h = try u16(), flags = try u8()
                let local = flags & 0x80 != 0 ? Array(try take(3 * (2 << (flags & 7)))) : nil
                guard let table = local ?? globalTable else { throw Failure("frame \(frames.count) has no colour table") }
                let minimum = try u8()
                let (indices, clears) = try Self.lzwDecode(try subBlocks(), minimumCodeSize: minimum)
                guard indices.count == w * h else { throw Failure("frame \(frames.count): \(indices.count) pixels for \(w)x\(h)") }
                guard indices.allSatisfy({ 3 * Int($0) < table.count }) else { throw Failure("index beyond the colour table") }
                frames.append(Frame(width: w, height: h, indices: indices, table: table, delay: delay))
                clearCodes.append(clears)
                delay = nil
            case let other:
                throw Failure("unknown block 0x\(String(other, radix: 16)) at byte \(p - 1)")
            }
        }
    }

    /// Decodes a GIF LZW code stream; requires an end code. Returns the indices and the number of clear codes.
    static func lzwDecode(_ data: [UInt8], minimumCodeSize: Int) throws -> ([UInt8], Int) {
        guard (2...8).contains(minimumCodeSize) else { throw Failure("minimum code size \(minimumCodeSize)") }
        let clear = 1 << minimumCodeSize, end = clear + 1
        var prefix = [Int](repeating: -1, count: 4096), suffix = [UInt8](repeating: 0, count: 4096)
        for i in 0..<clear { suffix[i] = UInt8(i) }
        var size = minimumCodeSize + 1, next = clear + 2
        var bit = 0, out: [UInt8] = [], clears = 0
        var previous: Int?

        func string(_ code: Int) -> [UInt8] {
            var s: [UInt8] = [], c = code
            while c >= 0 { s.append(suffix[c]); c = prefix[c] }
            return s.reversed()
        }
        while true {
            guard bit + size <= 8 * data.count else { throw Failure("code stream ends without an end code") }
            var code = 0
            for k in 0..<size where data[(bit + k) / 8] >> ((bit + k) % 8) & 1 != 0 { code |= 1 << k }
            bit += size
            if code == clear {
                size = minimumCodeSize + 1; next = clear + 2; previous = nil; clears += 1
                continue
            }
            if code == end {
                guard data.count - (bit + 7) / 8 == 0 else { throw Failure("\(data.count - (bit + 7) / 8) bytes after the end code") }
                return (out, clears)
            }
            guard let prev = previous else {
                guard code < clear else { throw Failure("first code \(code) after a clear is not a literal") }
                out.append(UInt8(code)); previous = code
                continue
            }
            let s: [UInt8]
            if code < next {
                s = string(code)
            } else if code == next {
                let p = string(prev); s = p + [p[0]]
            } else {
                throw Failure("code \(code) beyond the table (next \(next))")
            }
            if next < 4096 {
                prefix[next] = prev; suffix[next] = s[0]; next += 1
                if next == 1 << size && size < 12 { size += 1 }
            }
            out += s
            previous = code
        }
    }
}
