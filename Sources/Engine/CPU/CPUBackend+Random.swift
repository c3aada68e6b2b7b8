// Philox random numbers of the CPU backend (random.cl on OpenCL).
extension CPUBackend {
    /// Element `i` comes from Philox block `offset + i/4`, lane `i%4` (see `Philox`). Blocks are split
    /// over threads and computed eight at a time (`Philox8`); each block's four numbers depend only on
    /// (seed, block), so they do not depend on the thread count or on `count`.
    public func random(_ distribution: RandomDistribution, seed: UInt64, offset: UInt64, _ out: any Buffer, count: Int) throws {
        let po = try ptr(out, "random")
        try checkCount("random", [out], count: count)
        let blocks = (count + 3) / 4
        parallelFor(blocks, grain: 4096) { range in
            var b = range.lowerBound
            while b < range.upperBound {
                let (x0, x1, x2, x3) = Philox8.blocks(seed: seed, first: offset &+ UInt64(b))
                let v0: Float8, v1: Float8, v2: Float8, v3: Float8   // lane l of block b + i is v_l[i]
                switch distribution {
                case .uniform:
                    (v0, v1, v2, v3) = (Philox8.uniform(x0), Philox8.uniform(x1), Philox8.uniform(x2), Philox8.uniform(x3))
                case .normal:
                    (v0, v1) = Philox8.normalPair(x0, x1)
                    (v2, v3) = Philox8.normalPair(x2, x3)
                }
                // Interleave into out[4(b + i) + l]; the last group stops at the range and at count.
                let n = Swift.min(8, range.upperBound - b)
                let dst = po + 4 * b
                if n == 8 && 4 * (b + 8) <= count {
                    for i in 0..<8 { dst[4 * i] = v0[i]; dst[4 * i + 1] = v1[i]; dst[4 * i + 2] = v2[i]; dst[4 * i + 3] = v3[i] }
                } else {
                    let values = count - 4 * b
                    for i in 0..<n {
                        let lanes = (v0[i], v1[i], v2[i], v3[i])
                        if 4 * i < values { dst[4 * i] = lanes.0 }
                        if 4 * i + 1 < values { dst[4 * i + 1] = lanes.1 }
                        if 4 * i + 2 < values { dst[4 * i + 2] = lanes.2 }
                        if 4 * i + 3 < values { dst[4 * i + 3] = lanes.3 }
                    }
                }
                b += n
            }
        }
    }
}
