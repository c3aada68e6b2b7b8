import Foundation

/// A decoded RGB image: planar floats `[3, height, width]` in [0, 1] (R plane, G plane, B plane).
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `[3, height, width]`, row-major within each plane.
    public var pixels: [Float]

    /// An image from planar `pixels` (`3 · height · width` values).
    public init(width: Int, height: Int, pixels: [Float]) throws {
        guard width > 0, height > 0, pixels.count == 3 * width * height else {
            throw ImageIOError.invalidImage("\(pixels.count) values for a \(width)x\(height) RGB image")
        }
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// An image of one colour.
    public init(width: Int, height: Int, fill rgb: (Float, Float, Float)) throws {
        let plane = width * height
        try self.init(width: width, height: height,
                      pixels: [Float](repeating: rgb.0, count: plane) + [Float](repeating: rgb.1, count: plane)
                        + [Float](repeating: rgb.2, count: plane))
    }

    /// The value of channel `c` at row `y`, column `x`.
    @inlinable
    public subscript(c: Int, y: Int, x: Int) -> Float {
        get { pixels[(c * height + y) * width + x] }
        set { pixels[(c * height + y) * width + x] = newValue }
    }

    /// Interleaved 8-bit RGB (`[height, width, 3]`), each value `round(clamp(v, 0, 1) · 255)`.
    public func rgb8() -> [UInt8] {
        let plane = width * height
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { out[3 * i + c] = UInt8((min(max(pixels[c * plane + i], 0), 1) * 255).rounded()) }
        }
        return out
    }

    /// The image as an 8-bit file stores it: each value `round(clamp(v, 0, 1) · 255) / 255`.
    public func quantized8() -> Image {
        var copy = self
        copy.pixels = pixels.map { (min(max($0, 0), 1) * 255).rounded() / 255 }
        return copy
    }

    /// An image from interleaved samples (`[height, width, channels]`, `channels` 3), each divided by `scale`.
    static func interleaved<T: BinaryInteger>(_ samples: UnsafeBufferPointer<T>, width: Int, height: Int, scale: Float) throws -> Image {
        let plane = width * height
        var pixels = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane { for c in 0..<3 { pixels[c * plane + i] = Float(samples[3 * i + c]) / scale } }
        return try Image(width: width, height: height, pixels: pixels)
    }

    // MARK: - Grids and tensors

    /// `images` (all the same size) laid out `columns` to a row, left to right then top to bottom, with
    /// `gap` pixels of `background` between and around them; a short last row is padded with background.
    public static func grid(_ images: [Image], columns: Int, gap: Int = 2, background: Float = 1) throws -> Image {
        guard let first = images.first, columns > 0, gap >= 0 else {
            throw ImageIOError.invalidImage("a grid needs at least one image and a positive column count")
        }
        guard images.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw ImageIOError.invalidImage("grid images differ in size: \(images.map { "\($0.width)x\($0.height)" })")
        }
        let cols = min(columns, images.count), rows = (images.count + cols - 1) / cols
        let width = cols * first.width + (cols + 1) * gap, height = rows * first.height + (rows + 1) * gap
        var out = try Image(width: width, height: height, fill: (background, background, background))
        for (k, image) in images.enumerated() {
            let x0 = gap + (k % cols) * (first.width + gap), y0 = gap + (k / cols) * (first.height + gap)
            for c in 0..<3 { for y in 0..<first.height { for x in 0..<first.width { out[c, y0 + y, x0 + x] = image[c, y, x] } } }
        }
        return out
    }

    /// A batch `[N, 3, H, W]` of equally sized images on `backend`.
    public static func tensor(_ images: [Image], on backend: any Backend) throws -> Tensor {
        guard let first = images.first else { throw ImageIOError.invalidImage("no images to stack") }
        guard images.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw ImageIOError.invalidImage("images differ in size: \(images.map { "\($0.width)x\($0.height)" })")
        }
        return try Tensor(images.flatMap(\.pixels), shape: [images.count, 3, first.height, first.width], on: backend)
    }

    /// Image `index` of a batch `[N, 3, H, W]` (values are not clamped).
    public init(_ batch: Tensor, index: Int = 0) throws {
        guard batch.rank == 4, batch.shape[1] == 3, (0..<batch.shape[0]).contains(index) else {
            throw ImageIOError.invalidImage("expected image \(index) of a [N, 3, H, W] tensor, got \(batch.shape)")
        }
        let (h, w) = (batch.shape[2], batch.shape[3])
        let all = try batch.array()
        try self.init(width: w, height: h, pixels: Array(all[(index * 3 * h * w)..<((index + 1) * 3 * h * w)]))
    }

    /// A copy scaled to `width × height` by nearest-neighbour sampling (for thumbnails and plots).
    public func resizedNearest(width newWidth: Int, height newHeight: Int) throws -> Image {
        var out = try Image(width: newWidth, height: newHeight, fill: (0, 0, 0))
        for y in 0..<newHeight {
            let sy = min(height - 1, y * height / newHeight)
            for x in 0..<newWidth {
                let sx = min(width - 1, x * width / newWidth)
                for c in 0..<3 { out[c, y, x] = self[c, sy, sx] }
            }
        }
        return out
    }
}

/// Why an image could not be read, decoded or written. Every case names the file it concerns.
public enum ImageIOError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No file at the path.
    case notFound(path: String)
    /// The path exists but cannot be read as a file (a directory, no permission).
    case unreadable(path: String, reason: String)
    /// The file holds no bytes.
    case empty(path: String)
    /// The bytes are neither PNG nor JPEG.
    case unsupportedFormat(path: String)
    /// A PNG or JPEG whose data the decoder rejected (truncated, bad CRC, corrupt).
    case corrupt(path: String, format: String, reason: String)
    /// Writing failed.
    case writeFailed(path: String, reason: String)
    /// An image value is inconsistent (sizes, counts).
    case invalidImage(String)

    public var description: String {
        switch self {
        case let .notFound(path): return "\(path): no such file"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .empty(path): return "\(path): file is empty"
        case let .unsupportedFormat(path): return "\(path): not a PNG or JPEG image"
        case let .corrupt(path, format, reason): return "\(path): cannot decode \(format): \(reason)"
        case let .writeFailed(path, reason): return "\(path): cannot write: \(reason)"
        case let .invalidImage(detail): return "invalid image: \(detail)"
        }
    }
}
