import CImageCodecs
import Foundation

/// Reading and writing images: PNG through libpng's simplified API, JPEG through libjpeg-turbo's
/// TurboJPEG API. Grey, grey+alpha, palette, RGB and RGBA, 8- and 16-bit PNGs are converted to RGB in
/// [0, 1], alpha composited on white (`c·a + (1 − a)`, in the stored sRGB values).
public enum ImageIO {
    /// Largest image accepted (2²⁶ pixels, 8192×8192), so a corrupt header cannot exhaust memory.
    public static let maxPixels = 1 << 26

    /// Decodes the PNG or JPEG file at `path`.
    public static func read(_ path: String) throws -> Image {
        try decode(readBytes(path), name: path)
    }

    /// Decodes PNG or JPEG `bytes`; `name` (usually the path) is used in errors.
    public static func decode(_ bytes: [UInt8], name: String) throws -> Image {
        if bytes.isEmpty { throw ImageIOError.empty(path: name) }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try decodePNG(bytes, name: name) }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return try decodeJPEG(bytes, name: name) }
        throw ImageIOError.unsupportedFormat(path: name)
    }

    /// Writes `image` as an 8-bit RGB PNG to `path` (atomically: a temporary file, then a rename).
    public static func writePNG(_ image: Image, to path: String) throws {
        let bytes = try encodePNG(image, name: path)
        do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ImageIOError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }

    /// `image` as 8-bit RGB PNG bytes.
    public static func encodePNG(_ image: Image, name: String = "PNG") throws -> [UInt8] {
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = png_uint_32(PNG_FORMAT_FLAG_COLOR)
        let rgb = image.rgb8(), stride = Int32(3 * image.width)
        var size: Int = 0
        guard png_image_write_to_memory(&png, nil, &size, 0, rgb, stride, nil) != 0 else {
            throw ImageIOError.writeFailed(path: name, reason: message(&png))
        }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { png_image_write_to_memory(&png, $0.baseAddress, &size, 0, rgb, stride, nil) }
        guard ok != 0 else { throw ImageIOError.writeFailed(path: name, reason: message(&png)) }
        return Array(out.prefix(size))
    }

    // MARK: - Files

    static func readBytes(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ImageIOError.notFound(path: path)
        }
        if isDirectory.boolValue { throw ImageIOError.unreadable(path: path, reason: "is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImageIOError.unreadable(path: path, reason: "permission denied or not a regular file")
        }
        defer { try? handle.close() }
        do { return [UInt8](try handle.readToEnd() ?? Data()) } catch {
            throw ImageIOError.unreadable(path: path, reason: error.localizedDescription)
        }
    }

    // MARK: - PNG

    static func decodePNG(_ bytes: [UInt8], name: String) throws -> Image {
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        guard bytes.withUnsafeBytes({ png_image_begin_read_from_memory(&png, $0.baseAddress, $0.count) }) != 0 else {
            throw ImageIOError.corrupt(path: name, format: "PNG", reason: message(&png))
        }
        let width = Int(png.width), height = Int(png.height), plane = width * height
        guard plane <= maxPixels else {
            png_image_free(&png)
            throw ImageIOError.corrupt(path: name, format: "PNG", reason: "\(width)x\(height) exceeds \(maxPixels) pixels")
        }
        // A 16-bit file without colour-space chunks is read in libpng's "linear" format, which then
        // passes the stored samples through unchanged (full 16-bit precision); with such chunks libpng
        // converts to 8-bit sRGB like any 8-bit file.
        let sixteen = png.format & png_uint_32(PNG_FORMAT_FLAG_LINEAR) != 0 && !hasColourSpaceChunk(bytes)
        var pixels = [Float](repeating: 1, count: 3 * plane)
        if sixteen {
            // Premultiplied by alpha: c·a + (1 − a) is the stored value plus the white that shows through.
            png.format = png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_LINEAR)
            var buffer = [UInt16](repeating: 0, count: 4 * plane)
            try finishRead(&png, &buffer, name: name)
            for i in 0..<plane {
                let a = Float(buffer[4 * i + 3]) / 65535
                for c in 0..<3 { pixels[c * plane + i] = Float(buffer[4 * i + c]) / 65535 + (1 - a) }
            }
        } else {
            png.format = png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
            var buffer = [UInt8](repeating: 0, count: 4 * plane)
            try finishRead(&png, &buffer, name: name)
            for i in 0..<plane {
                let a = Float(buffer[4 * i + 3]) / 255
                for c in 0..<3 { pixels[c * plane + i] = Float(buffer[4 * i + c]) / 255 * a + (1 - a) }
            }
        }
        return try Image(width: width, height: height, pixels: pixels)
    }

    private static func finishRead<T>(_ png: inout png_image, _ buffer: inout [T], name: String) throws {
        let ok = buffer.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw ImageIOError.corrupt(path: name, format: "PNG", reason: message(&png)) }
    }

    /// Whether the PNG declares a colour space (gAMA, sRGB, iCCP or cHRM before the image data).
    static func hasColourSpaceChunk(_ bytes: [UInt8]) -> Bool {
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            if type == "IDAT" || type == "IEND" { return false }
            if ["gAMA", "sRGB", "iCCP", "cHRM"].contains(type) { return true }
            offset += 12 + length
        }
        return false
    }

    /// libpng's message for the last failure of `png` (and the image's resources released).
    private static func message(_ png: inout png_image) -> String {
        let text = withUnsafeBytes(of: png.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        png_image_free(&png)
        return text.isEmpty ? "libpng reported an error" : text
    }

    // MARK: - JPEG

    static func decodeJPEG(_ bytes: [UInt8], name: String) throws -> Image {
        guard let handle = tjInitDecompress() else {
            throw ImageIOError.corrupt(path: name, format: "JPEG", reason: "cannot initialise the decoder")
        }
        defer { tjDestroy(handle) }
        func failure() -> ImageIOError {
            .corrupt(path: name, format: "JPEG", reason: String(cString: tjGetErrorStr2(handle)))
        }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else { throw failure() }
        guard Int(width) * Int(height) <= maxPixels else {
            throw ImageIOError.corrupt(path: name, format: "JPEG", reason: "\(width)x\(height) exceeds \(maxPixels) pixels")
        }
        guard colorspace != Int32(TJCS_CMYK.rawValue), colorspace != Int32(TJCS_YCCK.rawValue) else {
            throw ImageIOError.corrupt(path: name, format: "JPEG", reason: "CMYK JPEGs are not supported")
        }
        var rgb = [UInt8](repeating: 0, count: 3 * Int(width) * Int(height))
        let status = bytes.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, width, 0, height,
                              Int32(TJPF_RGB.rawValue), 0)
            }
        }
        if status != 0 {
            // A warning still yields an image; only a truncated stream (or a fatal error) is refused.
            let text = String(cString: tjGetErrorStr2(handle))
            if tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || text.contains("Premature end") { throw failure() }
        }
        return try rgb.withUnsafeBufferPointer { try Image.interleaved($0, width: Int(width), height: Int(height), scale: 255) }
    }
}
