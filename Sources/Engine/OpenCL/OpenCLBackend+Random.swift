// Philox random numbers of the OpenCL backend (random.cl).
extension OpenCLBackend {
    /// One work-item per Philox block of four numbers.
    public func random(_ distribution: RandomDistribution, seed: UInt64, offset: UInt64, _ out: any Buffer, count: Int) throws {
        try checkCount("random", [out], count: count)
        guard count <= Int(Int32.max) - 3 else {
            throw EngineError.shapeMismatch(op: "random", detail: "\(count) numbers exceed the 32-bit indexing of random.cl")
        }
        try launch("random", "philox_fill", global: [(count + 3) / 4], local: [Self.localSize1D],
                   [.buffer(out), .int(count), .ulong(seed), .ulong(offset), .int(distribution.rawValue)])
    }
}
