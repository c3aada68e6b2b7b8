import CImageCodecs
import Foundation

/// Hand-built test images: a minimal PNG encoder (stored deflate blocks, so no zlib) for every colour
/// type and bit depth, and JPEGs through TurboJPEG's `tjCompress2`. Independent of the Engine's writer.
enum Fixtures {
    /// PNG colour types.
    enum ColourType: UInt8 { case grey = 0, rgb = 2, palette = 3, greyAlpha = 4, rgba = 6 }

    /// A PNG of `width × height` with raw `samples` (row-major, interleaved, values < 2^bitDepth);
    /// `palette` (RGB triples) and `transparency` (tRNS bytes) for palette images; `sRGB` adds an sRGB chunk.
    static func png(width: Int, height: Int, colour: ColourType, bitDepth: Int, samples: [Int],
                    palette: [UInt8] = [], transparency: [UInt8] = [], sRGB: Bool = false) -> [UInt8] {
        var raw: [UInt8] = []
        let channels = [ColourType.grey: 1, .rgb: 3, .palette: 1, .greyAlpha: 2, .rgba: 4][colour]!
        for y in 0..<height {
            raw.append(0)  // filter: none
            for v in samples[(y * width * channels)..<((y + 1) * width * channels)] {
                if bitDepth == 16 { raw += [UInt8(v >> 8), UInt8(v & 0xFF)] } else { raw.append(UInt8(v)) }
            }
        }
        var ihdr = be32(width) + be32(height)
        ihdr += [UInt8(bitDepth), colour.rawValue, 0, 0, 0]
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", ihdr)
        if sRGB { out += chunk("sRGB", [0]) }
        if !palette.isEmpty { out += chunk("PLTE", palette) }
        if !transparency.isEmpty { out += chunk("tRNS", transparency) }
        out += chunk("IDAT", zlibStored(raw))
        out += chunk("IEND", [])
        return out
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(data.count) + body + be32(Int(crc32(body)))
    }

    /// A zlib stream of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset), last: UInt8 = offset + n == data.count ? 1 : 0
            out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return out + be32(Int(b << 16 | a))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A JPEG of interleaved 8-bit RGB (or grey when `grey`), quality 100, no chroma subsampling.
    static func jpeg(width: Int, height: Int, rgb: [UInt8], grey: Bool = false) -> [UInt8] {
        guard let handle = tjInitCompress() else { return [] }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let format = grey ? Int32(TJPF_GRAY.rawValue) : Int32(TJPF_RGB.rawValue)
        let sampling = grey ? Int32(TJSAMP_GRAY.rawValue) : Int32(TJSAMP_444.rawValue)
        let status = tjCompress2(handle, rgb, Int32(width), 0, Int32(height), format, &buffer, &size, sampling, 100, 0)
        defer { tjFree(buffer) }
        guard status == 0, let buffer else { return [] }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }
}
