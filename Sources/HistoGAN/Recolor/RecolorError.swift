import Engine

/// Why a recolouring step (colour transfer, pyramid upsampling, SSIM, resizing, and the ReHistoGAN /
/// projection commands built on them) refused its input. Each case names the image it concerns: a path
/// when the image came from a file, otherwise a role such as "input" or "target".
public enum RecolorError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Two images that must have the same size do not.
    case mismatchedSizes(first: String, firstSize: ImageSize, second: String, secondSize: ImageSize)
    /// An image smaller than a step needs (`minimum` is the smallest accepted width and height).
    case imageTooSmall(image: String, size: ImageSize, minimum: Int)
    /// An image with no colour (R = G = B in every pixel, within 8-bit rounding) where colour is needed.
    case greyscale(image: String, reason: String)
    /// A value outside its valid range (a level count, an output size), with what was expected.
    case invalidArgument(name: String, value: String, expected: String)
    /// A non-finite value (NaN or infinity) in an image.
    case nonFinite(image: String)

    public var description: String {
        switch self {
        case let .mismatchedSizes(first, firstSize, second, secondSize):
            return "\(first) is \(firstSize) but \(second) is \(secondSize): they must have the same size"
        case let .imageTooSmall(image, size, minimum):
            return "\(image) is \(size): too small, needs at least \(minimum)x\(minimum) pixels"
        case let .greyscale(image, reason):
            return "\(image) is greyscale (R = G = B in every pixel): \(reason)"
        case let .invalidArgument(name, value, expected):
            return "\(name) \(value): \(expected)"
        case let .nonFinite(image):
            return "\(image) holds NaN or infinite values"
        }
    }
}

/// The width and height of an image, printed `WxH`.
public struct ImageSize: Sendable, Equatable, CustomStringConvertible {
    public let width: Int
    public let height: Int

    /// A size of `width × height` pixels.
    public init(width: Int, height: Int) { self.width = width; self.height = height }

    /// The size of `image`.
    public init(_ image: Image) { self.init(width: image.width, height: image.height) }

    public var description: String { "\(width)x\(height)" }
}

/// Checks shared by the recolouring steps (and the commands built on them), each throwing a `RecolorError`.
public enum RecolorCheck {
    /// Throws `imageTooSmall` when either side of `image` is below `minimum`.
    public static func size(_ image: Image, atLeast minimum: Int, name: String) throws {
        guard image.width >= minimum, image.height >= minimum else {
            throw RecolorError.imageTooSmall(image: name, size: ImageSize(image), minimum: minimum)
        }
    }

    /// Throws `nonFinite` when `image` holds a NaN or an infinity.
    public static func finite(_ image: Image, name: String) throws {
        guard image.pixels.allSatisfy(\.isFinite) else { throw RecolorError.nonFinite(image: name) }
    }

    /// Throws `mismatchedSizes` unless `a` and `b` have the same width and height.
    public static func sameSize(_ a: Image, _ aName: String, _ b: Image, _ bName: String) throws {
        guard a.width == b.width, a.height == b.height else {
            throw RecolorError.mismatchedSizes(first: aName, firstSize: ImageSize(a), second: bName, secondSize: ImageSize(b))
        }
    }

    /// Whether every pixel of `image` has R = G = B within `tolerance` (default: half an 8-bit step either
    /// way after rounding, 1.5 / 255).
    public static func isGreyscale(_ image: Image, tolerance: Float = 1.5 / 255) -> Bool {
        let plane = image.width * image.height
        return image.pixels.withUnsafeBufferPointer { p in
            for i in 0..<plane where abs(p[i] - p[plane + i]) > tolerance || abs(p[i] - p[2 * plane + i]) > tolerance {
                return false
            }
            return true
        }
    }
}
