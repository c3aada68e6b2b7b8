import Engine
import Foundation

/// A folder tree of PNG/JPEG images, decoded once, centre-cropped to a square and resized to R×R, kept in
/// memory as 8-bit RGB (3·R² bytes per image). Batches are drawn deterministically from (seed, step) and
/// assembled on a background thread while the previous step trains.
public final class ImageDataset: @unchecked Sendable {
    public let directory: String
    public let resolution: Int
    public let paths: [String]
    let pixels: [[UInt8]]

    /// File extensions read (case-insensitive).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Scans `directory` recursively and decodes every image (in parallel, reporting progress). Throws a
    /// `HistoGANError.data` naming the folder when it is missing or has no images, and naming the files that
    /// cannot be decoded.
    public init(directory: String, resolution: Int, progress: (Int, Int) -> Void = { _, _ in }) throws {
        self.directory = directory
        self.resolution = resolution
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HistoGANError.data("\(directory): no such directory")
        }
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw HistoGANError.data("\(directory): cannot list the directory")
        }
        var found: [String] = []
        while let item = walker.nextObject() as? String {
            if Self.extensions.contains((item as NSString).pathExtension.lowercased()) { found.append(directory + "/" + item) }
        }
        paths = found.sorted()
        guard !paths.isEmpty else {
            throw HistoGANError.data("\(directory): no PNG or JPEG images found (searched recursively for .png, .jpg, .jpeg)")
        }
        pixels = try ImageDataset.mapFiles(paths, in: directory) { try ImageDataset.load($0, resolution: resolution) }
        progress(paths.count, paths.count)
    }

    public var count: Int { paths.count }

    /// `transform` of every file in `paths`, in parallel, in order. When files fail, one `HistoGANError.data` names
    /// up to five of them (with their errors) and the folder `directory`.
    static func mapFiles<T>(_ paths: [String], in directory: String, _ transform: @escaping @Sendable (String) throws -> T) throws -> [T] {
        let results = LockedArray<Result<T, Error>?>(count: paths.count, initial: nil)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in results[i] = Result { try transform(paths[i]) } }
        var values: [T] = [], failures: [String] = []
        values.reserveCapacity(paths.count)
        for (i, r) in results.values.enumerated() {
            switch r {
            case .success(let v)?: values.append(v)
            case .failure(let e)?: failures.append("\(paths[i]): \(e)")
            case nil: failures.append("\(paths[i]): not processed")
            }
        }
        guard failures.isEmpty else {
            throw HistoGANError.data("\(failures.count) of \(paths.count) files in \(directory) cannot be read (remove or fix them):\n  "
                                     + failures.prefix(5).joined(separator: "\n  ") + (failures.count > 5 ? "\n  …" : ""))
        }
        return values
    }

    /// Decodes `path` and returns R×R 8-bit CHW pixels: centre square crop, then area-averaged resize.
    static func load(_ path: String, resolution r: Int) throws -> [UInt8] {
        let image = try ImageIO.read(path)
        let side = min(image.width, image.height)
        let x0 = (image.width - side) / 2, y0 = (image.height - side) / 2
        var out = [UInt8](repeating: 0, count: 3 * r * r)
        let scale = Double(side) / Double(r)
        let taps = max(1, Int(scale.rounded(.up)))
        for c in 0..<3 {
            let plane = c * image.width * image.height
            for y in 0..<r {
                for x in 0..<r {
                    var sum = 0.0
                    for sy in 0..<taps {
                        for sx in 0..<taps {
                            let fy = (Double(y) + (Double(sy) + 0.5) / Double(taps)) * scale
                            let fx = (Double(x) + (Double(sx) + 0.5) / Double(taps)) * scale
                            let iy = y0 + min(side - 1, Int(fy)), ix = x0 + min(side - 1, Int(fx))
                            sum += Double(image.pixels[plane + iy * image.width + ix])
                        }
                    }
                    out[c * r * r + y * r + x] = UInt8(max(0, min(255, (sum / Double(taps * taps) * 255).rounded())))
                }
            }
        }
        return out
    }

    /// Images `indices` as floats in [-1, 1], `[n, 3, R, R]` row-major, each flipped horizontally when
    /// `flips[i]`.
    public func batch(_ indices: [Int], flips: [Bool]) -> [Float] {
        let r = resolution, plane = r * r
        var out = [Float](repeating: 0, count: indices.count * 3 * plane)
        for (n, index) in indices.enumerated() {
            let src = pixels[index]
            for c in 0..<3 {
                for y in 0..<r {
                    for x in 0..<r {
                        let sx = flips[n] ? r - 1 - x : x
                        out[n * 3 * plane + c * plane + y * r + x] = Float(src[c * plane + y * r + sx]) / 127.5 - 1
                    }
                }
            }
        }
        return out
    }

    /// The images of training step `step`, micro-batch `k`: indices and flips from Philox (seed, step, k).
    public func batch(step: Int, k: Int, size: Int, seed: UInt64, flip: Bool) -> [Float] {
        var random = HostRandom(seed: seed ^ 0xDA7A, stream: UInt64(step) << 8 | UInt64(k))
        let indices = (0..<size).map { _ in random.int(count) }
        let flips = (0..<size).map { _ in flip && random.uniform() < 0.5 }
        return batch(indices, flips: flips)
    }
}

/// Prefetches the next step's host batches on a background thread.
public final class BatchPrefetcher: @unchecked Sendable {
    let dataset: ImageDataset
    let options: TrainingOptions
    /// Which of the step's micro-batches this process loads (a data-parallel rank loads only its own).
    let microBatches: [Int]
    private let queue = DispatchQueue(label: "histogan.prefetch")
    private var pending: (step: Int, work: DispatchWorkItem, result: LockedArray<[Float]>)?

    /// Prefetches micro-batches `microBatches` of each step (default: all `options.accumulate`).
    public init(dataset: ImageDataset, options: TrainingOptions, microBatches: [Int]? = nil) {
        self.dataset = dataset
        self.options = options
        self.microBatches = microBatches ?? Array(0..<options.accumulate)
    }

    /// The micro-batches `microBatches` of `step` (host floats in [-1, 1]); starts assembling those of `step + 1`.
    public func batches(step: Int) -> [[Float]] {
        let current: [[Float]]
        if let p = pending, p.step == step {
            p.work.wait()
            current = p.result.values
        } else {
            current = Self.assemble(dataset, options, microBatches, step)
        }
        let result = LockedArray<[Float]>(count: microBatches.count, initial: [])
        let (dataset, options, microBatches) = (self.dataset, self.options, self.microBatches)
        let work = DispatchWorkItem {
            for (j, b) in Self.assemble(dataset, options, microBatches, step + 1).enumerated() { result[j] = b }
        }
        queue.async(execute: work)
        pending = (step + 1, work, result)
        return current
    }

    static func assemble(_ dataset: ImageDataset, _ options: TrainingOptions, _ microBatches: [Int], _ step: Int) -> [[Float]] {
        microBatches.map {
            dataset.batch(step: step, k: $0, size: options.microBatch, seed: options.seed, flip: options.flip)
        }
    }
}

/// A fixed-size array whose elements are written from several threads under a lock.
final class LockedArray<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [T]
    init(count: Int, initial: T) { storage = [T](repeating: initial, count: count) }
    subscript(i: Int) -> T {
        get { lock.withLock { storage[i] } }
        set { lock.withLock { storage[i] = newValue } }
    }
    var values: [T] { lock.withLock { storage } }
}

