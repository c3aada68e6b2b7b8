// Philox random numbers of the CPU backend (random.cl on OpenCL).
extension CPUBackend {
    /// Element `i` comes from Philox block `offset + i/4`, lane `i%4` (see `Philox`); blocks are split
    /// over threads, so the numbers do not depend on the thread count.
    public func random(_ distribution: RandomDistribution, seed: UInt64, offset: UInt64, _ out: any Buffer, count: Int) throws {
        let po = try ptr(out, "random")
        try checkCount("random", [out], count: count)
        let blocks = (count + 3) / 4
        parallelFor(blocks, grain: 4096) { range in
            for b in range {
                let x = Philox.block(seed: seed, index: offset &+ UInt64(b))
                var v = SIMD4<Float>()
                switch distribution {
                case .uniform:
                    for lane in 0..<4 { v[lane] = Philox.uniform(x[lane]) }
                case .normal:
                    (v[0], v[1]) = Philox.normalPair(x[0], x[1])
                    (v[2], v[3]) = Philox.normalPair(x[2], x[3])
                }
                for lane in 0..<Swift.min(4, count - 4 * b) { po[4 * b + lane] = v[lane] }
            }
        }
    }
}
