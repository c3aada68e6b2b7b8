/// Storage of a tensor: one backend buffer. Shared by tensors that are views of the same data
/// (e.g. `reshaped`); every op writes a new storage, so sharing is safe.
public final class TensorStorage: Sendable {
    public let buffer: any Buffer
    public let backend: any Backend

    public init(buffer: any Buffer, backend: any Backend) {
        self.buffer = buffer
        self.backend = backend
    }
}

/// A float32 tensor on one backend: a shape over contiguous row-major storage (NCHW for images).
/// Value semantics: ops return new tensors; storage is shared only between views of unchanged data.
public struct Tensor: Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let storage: TensorStorage
    /// The autograd node that produced this tensor (nil: no gradient flows).
    public let node: GradNode?

    public var backend: any Backend { storage.backend }
    public var buffer: any Buffer { storage.buffer }
    /// Number of elements, Π shape.
    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    /// Wraps an existing buffer (at least `Π shape` elements).
    public init(shape: [Int], storage: TensorStorage, node: GradNode? = nil) {
        precondition(storage.buffer.count >= shape.reduce(1, *), "buffer smaller than shape \(shape)")
        self.shape = shape
        self.storage = storage
        self.node = node
    }

    /// Uploads `values` (row-major, `values.count == Π shape`).
    public init(_ values: [Float], shape: [Int], on backend: any Backend) throws {
        guard values.count == shape.reduce(1, *) else {
            throw EngineError.shapeMismatch(op: "Tensor.init", detail: "\(values.count) values for shape \(shape)")
        }
        let buffer = try backend.allocate(values.count)
        try values.withUnsafeBufferPointer { try backend.upload($0, to: buffer, offset: 0) }
        self.init(shape: shape, storage: TensorStorage(buffer: buffer, backend: backend))
    }

    /// An uninitialised tensor (every element must be written before it is read).
    public static func empty(_ shape: [Int], on backend: any Backend) throws -> Tensor {
        let buffer = try backend.allocate(shape.reduce(1, *))
        return Tensor(shape: shape, storage: TensorStorage(buffer: buffer, backend: backend))
    }

    /// A tensor with every element `value`.
    public static func full(_ shape: [Int], value: Float, on backend: any Backend) throws -> Tensor {
        let t = try empty(shape, on: backend)
        try backend.fill(t.buffer, count: t.count, value: value)
        return t
    }

    public static func zeros(_ shape: [Int], on backend: any Backend) throws -> Tensor {
        try full(shape, value: 0, on: backend)
    }

    /// Philox4x32-10 samples (`normal` N(0,1) or `uniform` U[0,1)); identical on every backend.
    public static func random(_ shape: [Int], _ distribution: RandomDistribution = .normal, seed: UInt64,
                              offset: UInt64 = 0, on backend: any Backend) throws -> Tensor {
        let t = try empty(shape, on: backend)
        try backend.random(distribution, seed: seed, offset: offset, t.buffer, count: t.count)
        return t
    }

    /// Copies the elements to the host, row-major.
    public func array() throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { try backend.download(buffer, offset: 0, into: $0) }
        return out
    }

    /// The single element of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else { throw EngineError.shapeMismatch(op: "item", detail: "shape \(shape) has \(count) elements") }
        return try array()[0]
    }

    /// Same data, new shape (`Π newShape == count`; one dimension may be -1).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var dims = newShape
        if let i = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            guard known > 0, count % known == 0 else {
                throw EngineError.shapeMismatch(op: "reshape", detail: "\(shape) -> \(newShape)")
            }
            dims[i] = count / known
        }
        guard dims.reduce(1, *) == count else { throw EngineError.shapeMismatch(op: "reshape", detail: "\(shape) -> \(newShape)") }
        let oldShape = shape
        return Tensor(shape: dims, storage: storage).recorded("reshape", [self]) { g in [try g.reshaped(oldShape)] }
    }

    /// This tensor's data on `other` backend (a copy through the host unless it is already there).
    public func to(_ other: any Backend) throws -> Tensor {
        if other === backend { return self }
        return try Tensor(array(), shape: shape, on: other)
    }

    public var description: String { "Tensor\(shape) on \(backend.info.selector)" }
}
