import Engine
import Foundation

/// Labelled images for the classic GANs, in memory as 8-bit `[C, R, R]` planes: Fashion-MNIST from its IDX
/// files, or any image folder with an optional labels CSV. Batches are drawn from (seed, step).
public final class LabelledDataset: @unchecked Sendable {
    public let resolution: Int
    public let channels: Int
    /// `[C·R·R]` bytes per image.
    let pixels: [[UInt8]]
    /// Label indices per image: one class, or any number of tags (empty when unlabelled).
    public let labels: [[Int]]
    public let labelKind: LabelKind
    /// Names of the classes or tags, in index order (empty when unlabelled).
    public let labelNames: [String]
    /// Where the data came from, for messages.
    public let source: String

    init(resolution: Int, channels: Int, pixels: [[UInt8]], labels: [[Int]], labelKind: LabelKind, labelNames: [String], source: String) {
        self.resolution = resolution
        self.channels = channels
        self.pixels = pixels
        self.labels = labels
        self.labelKind = labelKind
        self.labelNames = labelNames
        self.source = source
    }

    public var count: Int { pixels.count }
    /// Number of classes or tags (0 when unlabelled).
    public var labelCount: Int { labelNames.count }

    /// The ten Fashion-MNIST classes, in label order.
    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                             "Sneaker", "Bag", "Ankle boot"]
    /// Where Debian's `dataset-fashion-mnist` installs the IDX files.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// Fashion-MNIST's `train` (60,000) or `t10k` (10,000) split from `directory`: `<split>-images-idx3-ubyte.gz`
    /// and `<split>-labels-idx1-ubyte.gz`. A missing file is a `HistoGANError.data` naming it and the package.
    public static func fashionMNIST(split: String, directory: String = fashionMNISTDirectory) throws -> LabelledDataset {
        let imagePath = "\(directory)/\(split)-images-idx3-ubyte.gz", labelPath = "\(directory)/\(split)-labels-idx1-ubyte.gz"
        for path in [imagePath, labelPath] where !FileManager.default.fileExists(atPath: path) {
            throw HistoGANError.data("\(path): not found; install Fashion-MNIST with `apt-get install dataset-fashion-mnist`")
        }
        let images = try IDXFile(bytes: Gzip.read(imagePath), path: imagePath)
        let labelFile = try IDXFile(bytes: Gzip.read(labelPath), path: labelPath)
        guard images.dimensions.count == 3, labelFile.dimensions.count == 1, images.dimensions[0] == labelFile.dimensions[0],
              images.dimensions[1] == images.dimensions[2] else {
            throw HistoGANError.data("\(imagePath), \(labelPath): shapes \(images.dimensions) and \(labelFile.dimensions) do not pair up")
        }
        let n = images.dimensions[0], plane = images.dimensions[1] * images.dimensions[2]
        let pixels = (0..<n).map { Array(images.data[($0 * plane)..<(($0 + 1) * plane)]) }
        let labels = try labelFile.data.enumerated().map { i, k -> [Int] in
            guard k < 10 else { throw HistoGANError.data("\(labelPath): label \(k) of item \(i) is not a Fashion-MNIST class") }
            return [Int(k)]
        }
        return LabelledDataset(resolution: images.dimensions[1], channels: 1, pixels: pixels, labels: labels, labelKind: .classes,
                               labelNames: fashionMNISTClasses, source: "Fashion-MNIST \(split)")
    }

    /// Images of `directory` (recursively, PNG/JPEG, RGB, centre-cropped and resized to R×R) with labels from
    /// `labelsCSV` when given: lines `file,label` (one class each) or `file,tag1;tag2` (tags, multi-hot), `file`
    /// relative to `directory`; an optional header line starting `file,`. Every image needs a line.
    public static func folder(_ directory: String, resolution: Int, labelsCSV: String?) throws -> LabelledDataset {
        let images = try ImageDataset(directory: directory, resolution: resolution)
        guard let labelsCSV else {
            return LabelledDataset(resolution: resolution, channels: 3, pixels: images.pixels, labels: [], labelKind: .classes,
                                   labelNames: [], source: directory)
        }
        guard let text = try? String(contentsOfFile: labelsCSV, encoding: .utf8) else {
            throw HistoGANError.data("\(labelsCSV): cannot read the labels file")
        }
        var byFile: [String: [String]] = [:]
        var isTags = false
        for (number, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || (number == 0 && line.lowercased().hasPrefix("file,")) { continue }
            guard let comma = line.firstIndex(of: ",") else {
                throw HistoGANError.data("\(labelsCSV):\(number + 1): expected `file,label` or `file,tag1;tag2`, got \"\(line)\"")
            }
            let file = String(line[..<comma]).trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: comma)...]
            let tags = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if tags.count != 1 { isTags = true }
            byFile[file] = tags
        }
        var names = Set<String>()
        var perImage: [[String]] = []
        var missing: [String] = []
        for path in images.paths {
            let relative = String(path.dropFirst(directory.count + 1))
            guard let tags = byFile[relative] else { missing.append(relative); continue }
            perImage.append(tags)
            names.formUnion(tags)
        }
        guard missing.isEmpty else {
            throw HistoGANError.data("\(labelsCSV): no label for \(missing.count) image(s) of \(directory), e.g. \(missing.prefix(3).joined(separator: ", "))")
        }
        let sorted = names.sorted()
        let index = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) })
        return LabelledDataset(resolution: resolution, channels: 3, pixels: images.pixels,
                               labels: perImage.map { $0.compactMap { index[$0] } }, labelKind: isTags ? .tags : .classes,
                               labelNames: sorted, source: directory)
    }

    /// The images `indices` (and their labels) as a dataset of their own, named `source`.
    public func subset(_ indices: [Int], source: String) -> LabelledDataset {
        LabelledDataset(resolution: resolution, channels: channels, pixels: indices.map { pixels[$0] },
                        labels: labels.isEmpty ? [] : indices.map { labels[$0] }, labelKind: labelKind, labelNames: labelNames, source: source)
    }

    /// Images `indices` as floats in [−1, 1], `[n, C, R, R]` row-major.
    public func images(_ indices: [Int]) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(indices.count * channels * resolution * resolution)
        for i in indices { out += pixels[i].map { Float($0) / 127.5 - 1 } }
        return out
    }

    /// Multi-hot (one-hot for classes) label rows of `indices`, `[n, labelCount]`.
    public func conditions(_ indices: [Int]) -> [Float] {
        var out = [Float](repeating: 0, count: indices.count * labelCount)
        for (n, i) in indices.enumerated() { for k in labels[i] { out[n * labelCount + k] = 1 } }
        return out
    }

    /// The image indices of training step `step`: `size` uniform draws from Philox (seed, step).
    public func indices(step: Int, size: Int, seed: UInt64) -> [Int] {
        var random = HostRandom(seed: seed ^ 0xDA7A, stream: UInt64(step))
        return (0..<size).map { _ in random.int(count) }
    }
}

/// An IDX file (LeCun's MNIST format): magic `0x00 0x00 type ndim`, `ndim` big-endian UInt32 sizes, then
/// unsigned bytes (type 0x08, the only one Fashion-MNIST uses).
struct IDXFile {
    let dimensions: [Int]
    /// The items' bytes, row-major (indices from 0).
    let data: [UInt8]

    init(bytes: [UInt8], path: String) throws {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08 else {
            throw HistoGANError.data("\(path): not an unsigned-byte IDX file")
        }
        let ndim = Int(bytes[3])
        guard bytes.count >= 4 + 4 * ndim else { throw HistoGANError.data("\(path): truncated IDX header") }
        dimensions = (0..<ndim).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
        let start = 4 + 4 * ndim, need = dimensions.reduce(1, *)
        guard bytes.count == start + need else {
            throw HistoGANError.data("\(path): IDX holds \(bytes.count - start) bytes of data, dimensions \(dimensions) need \(need)")
        }
        data = Array(bytes[start...])
    }
}
