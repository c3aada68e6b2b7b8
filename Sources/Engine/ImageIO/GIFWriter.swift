import Foundation

/// How `GIFWriter` builds colour tables.
public struct GIFOptions: Sendable, Equatable {
    /// Where the colour table lives.
    public enum Palette: Sendable, Equatable {
        /// One median-cut table over all frames (the global colour table): no colour flicker between frames.
        case global
        /// A median-cut table per frame (local colour tables): best per frame, but colours may shimmer.
        case perFrame
    }

    /// Global (default) or per-frame colour tables.
    public var palette: Palette
    /// Ordered dithering with an amplitude set from each palette's spacing (see `GIFPalette.medianCut`).
    public var dither: Bool
    /// NETSCAPE2.0 loop count: 0 = loop forever.
    public var loopCount: Int

    /// Options; the defaults (one global palette, dithering, looping forever) suit smooth generated images.
    public init(palette: Palette = .global, dither: Bool = true, loopCount: Int = 0) {
        self.palette = palette
        self.dither = dither
        self.loopCount = loopCount
    }
}

/// Animated GIF (GIF89a) writer: NETSCAPE2.0 looping, a delay per frame, median-cut colour tables with
/// ordered dithering, and LZW compression written from the GIF89a specification (appendix F).
///
/// Why median cut + ordered dithering: generated images are smooth and their colours cluster (HistoGAN's
/// outputs follow one colour histogram), so an adaptive palette spends its 256 entries where the colours are,
/// where a fixed 6x7x6 cube wastes most of them and leaves visible steps. Ordered (Bayer) dithering breaks the
/// remaining bands into a fine fixed pattern; unlike error diffusion it does not "crawl" from frame to frame
/// (an unchanged region stays byte-identical) and it compresses better. One global table avoids flicker.
public enum GIFWriter {
    /// Writes `frames` (all the same size) as an animated GIF to `path`, atomically (a temporary file, fsync,
    /// rename). `delays` are in hundredths of a second (0…65535), one per frame, or a single value for all.
    public static func write(_ frames: [Image], delays: [Int], to path: String, options: GIFOptions = GIFOptions()) throws {
        let bytes = try encode(frames, delays: delays, options: options, name: path)
        do { try AtomicFile.write(Data(bytes), to: path) } catch {
            throw ImageIOError.writeFailed(path: path, reason: "\(error)")
        }
    }

    /// The GIF file's bytes for `frames`; `name` (usually the path) is used in errors.
    public static func encode(_ frames: [Image], delays: [Int], options: GIFOptions = GIFOptions(), name: String = "GIF") throws -> [UInt8] {
        guard let first = frames.first else { throw ImageIOError.writeFailed(path: name, reason: "an animation needs at least one frame") }
        if let odd = frames.firstIndex(where: { $0.width != first.width || $0.height != first.height }) {
            throw ImageIOError.writeFailed(path: name, reason: "frame \(odd) is \(frames[odd].width)x\(frames[odd].height), frame 0 is \(first.width)x\(first.height)")
        }
        guard first.width <= 65535, first.height <= 65535 else {
            throw ImageIOError.writeFailed(path: name, reason: "\(first.width)x\(first.height) exceeds GIF's 65535x65535")
        }
        guard delays.count == 1 || delays.count == frames.count else {
            throw ImageIOError.writeFailed(path: name, reason: "\(delays.count) delays for \(frames.count) frames")
        }
        if let bad = delays.first(where: { !(0...65535).contains($0) }) {
            throw ImageIOError.writeFailed(path: name, reason: "frame delay \(bad) is outside 0…65535 hundredths of a second")
        }
        guard (0...65535).contains(options.loopCount) else {
            throw ImageIOError.writeFailed(path: name, reason: "loop count \(options.loopCount) is outside 0…65535")
        }
        let global = options.palette == .global ? try GIFPalette.medianCut(frames, dither: options.dither) : nil

        var out = Array("GIF89a".utf8)
        // Logical screen descriptor: size, packed (global table flag, 8-bit colour resolution, table size), bg, aspect.
        out += le16(first.width) + le16(first.height)
        out += [global.map { 0x80 | 0x70 | tableBits($0) } ?? 0x70, 0, 0]
        if let global { out += table(global) }
        // NETSCAPE2.0 application extension: sub-block 1 holds the loop count.
        out += [0x21, 0xFF, 0x0B] + Array("NETSCAPE2.0".utf8) + [0x03, 0x01] + le16(options.loopCount) + [0x00]

        for (k, frame) in frames.enumerated() {
            let palette = try global ?? GIFPalette.medianCut([frame], dither: options.dither)
            // Graphic control extension: disposal 1 (leave in place), no transparency, the delay.
            out += [0x21, 0xF9, 0x04, 0x04] + le16(delays.count == 1 ? delays[0] : delays[k]) + [0x00, 0x00]
            // Image descriptor: the whole screen; a local table when there is no global one.
            out += [0x2C] + le16(0) + le16(0) + le16(frame.width) + le16(frame.height)
            out.append(global == nil ? 0x80 | tableBits(palette) : 0)
            if global == nil { out += table(palette) }
            let minimumCodeSize = max(2, Int(tableBits(palette)) + 1)
            out.append(UInt8(minimumCodeSize))
            out += subBlocks(GIFLZW.encode(palette.indices(for: frame), minimumCodeSize: minimumCodeSize))
        }
        out.append(0x3B)
        return out
    }

    // MARK: - Pieces

    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }

    /// The 3-bit size field N of a colour table of 2^(N+1) entries that holds `palette`.
    static func tableBits(_ palette: GIFPalette) -> UInt8 {
        var n: UInt8 = 0
        while (2 << n) < palette.count { n += 1 }
        return n
    }

    /// The palette padded with black to 2^(N+1) entries.
    static func table(_ palette: GIFPalette) -> [UInt8] {
        palette.rgb + [UInt8](repeating: 0, count: 3 * ((2 << tableBits(palette)) - palette.count))
    }

    /// `data` as data sub-blocks of at most 255 bytes, then the block terminator.
    static func subBlocks(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + data.count / 255 + 2)
        var start = 0
        while start < data.count {
            let n = min(255, data.count - start)
            out.append(UInt8(n))
            out += data[start..<(start + n)]
            start += n
        }
        out.append(0)
        return out
    }
}

/// GIF's variable-length-code LZW (GIF89a appendix F).
///
/// 1. Codes start `minimumCodeSize + 1` bits wide; `clear = 2^minimumCodeSize`, `end = clear + 1`, and new
///    strings get codes from `clear + 2`.
/// 2. The stream starts with `clear`. The longest known string is extended one index at a time; when the
///    extension is unknown, the code of the known string is written and the extension gets the next code.
/// 3. When the code just assigned equals `2^width` the width grows by one bit (at most 12).
/// 4. When code 4095 has been assigned the table is full: `clear` is written (12 bits wide) and the table,
///    and the width, start over.
/// 5. The last string's code and `end` close the stream; codes are packed least significant bit first.
public enum GIFLZW {
    /// The packed code stream (without sub-block framing) for palette `indices`, each `< 2^minimumCodeSize`.
    /// `minimumCodeSize` is 2…8.
    public static func encode(_ indices: [UInt8], minimumCodeSize: Int) -> [UInt8] {
        precondition((2...8).contains(minimumCodeSize), "GIF LZW minimum code size must be 2…8")
        let clear = 1 << minimumCodeSize, end = clear + 1
        var writer = BitWriter()
        var table: [Int: Int] = [:]
        table.reserveCapacity(4096)
        var width = minimumCodeSize + 1, next = clear + 2
        writer.write(clear, width: width)
        guard let firstIndex = indices.first else {
            writer.write(end, width: width)
            return writer.finish()
        }
        var prefix = Int(firstIndex)
        for index in indices.dropFirst() {
            let key = prefix << 8 | Int(index)
            if let code = table[key] { prefix = code; continue }
            writer.write(prefix, width: width)
            table[key] = next
            if next == 1 << width && width < 12 { width += 1 }
            next += 1
            if next == 4096 {
                writer.write(clear, width: width)
                table.removeAll(keepingCapacity: true)
                width = minimumCodeSize + 1
                next = clear + 2
            }
            prefix = Int(index)
        }
        writer.write(prefix, width: width)
        // The decoder adds an entry on reading this last code; `end` must be read at the width that follows.
        if next < 4096 && next == 1 << width && width < 12 { width += 1 }
        writer.write(end, width: width)
        return writer.finish()
    }

    /// Packs codes least significant bit first into bytes.
    struct BitWriter {
        var bytes: [UInt8] = []
        var buffer: UInt64 = 0
        var count = 0

        mutating func write(_ code: Int, width: Int) {
            buffer |= UInt64(code) << UInt64(count)
            count += width
            while count >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                count -= 8
            }
        }

        mutating func finish() -> [UInt8] {
            if count > 0 { bytes.append(UInt8(truncatingIfNeeded: buffer)) }
            buffer = 0; count = 0
            return bytes
        }
    }
}
