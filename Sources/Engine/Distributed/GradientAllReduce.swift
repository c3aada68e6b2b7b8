import Foundation

/// Sums the gradients of a parameter list over every rank (data-parallel training): device → host into one flat
/// buffer, `MPI_Allreduce` in buckets of at most `bucketElements` floats, host → device.
///
/// Layout of the flat buffer: every parameter's gradient in list order (zeros where a parameter has none), then
/// one flag per parameter (1 where it has a gradient), then `extra` host values that ride along (losses,
/// per-micro-batch statistics). After the sum a parameter whose flags sum to 0 keeps no gradient, so the
/// optimizer skips it on every rank exactly as it would in one process.
public struct GradientAllReduce {
    /// Floats per `MPI_Allreduce` call.
    public let bucketElements: Int

    /// Buckets of `bucketBytes` bytes (at least one float).
    public init(bucketBytes: Int = 64 << 20) {
        bucketElements = max(1, bucketBytes / MemoryLayout<Float>.size)
    }

    /// Number of floats one call sends for `parameters` and `extraCount` extra values.
    public static func elementCount(_ parameters: [Parameter], extraCount: Int) -> Int {
        parameters.reduce(0) { $0 + $1.value.count } + parameters.count + extraCount
    }

    /// Replaces every parameter's gradient by its sum over ranks and returns the summed `extra`.
    /// Every rank must call this with the same parameter shapes and `extra.count`.
    public func run(_ parameters: [Parameter], extra: [Float], communicator: any Communicator) throws -> [Float] {
        let total = Self.elementCount(parameters, extraCount: extra.count)
        var send = [Float](repeating: 0, count: total)
        var offset = 0
        try send.withUnsafeMutableBufferPointer { buffer in
            for p in parameters {
                if let g = p.grad {
                    try g.backend.download(g.buffer, offset: 0, into: UnsafeMutableBufferPointer(rebasing: buffer[offset ..< offset + g.count]))
                }
                offset += p.value.count
            }
            for (i, p) in parameters.enumerated() { buffer[offset + i] = p.grad == nil ? 0 : 1 }
            offset += parameters.count
            for (i, v) in extra.enumerated() { buffer[offset + i] = v }
        }
        var recv = [Float](repeating: 0, count: total)
        try send.withUnsafeBufferPointer { s in
            try recv.withUnsafeMutableBufferPointer { r in
                var start = 0
                while start < total {
                    let end = min(total, start + bucketElements)
                    try communicator.allReduceSum(UnsafeBufferPointer(rebasing: s[start ..< end]),
                                                  into: UnsafeMutableBufferPointer(rebasing: r[start ..< end]))
                    start = end
                }
            }
        }
        let flags = parameters.reduce(0) { $0 + $1.value.count }
        try recv.withUnsafeBufferPointer { r in
            var offset = 0
            for (i, p) in parameters.enumerated() {
                let count = p.value.count
                if r[flags + i] > 0 {
                    let backend = p.value.backend
                    let buffer = try backend.allocate(count)
                    try backend.upload(UnsafeBufferPointer(rebasing: r[offset ..< offset + count]), to: buffer, offset: 0)
                    p.grad = Tensor(shape: p.shape, storage: TensorStorage(buffer: buffer, backend: backend))
                } else {
                    p.grad = nil
                }
                offset += count
            }
        }
        return Array(recv[(flags + parameters.count)...])
    }
}
