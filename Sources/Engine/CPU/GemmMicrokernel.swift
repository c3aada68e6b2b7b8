// The CPU GEMM's packing routines and 6×16 register-blocked micro-kernel (driver: CPUBackend+Gemm.swift).

/// Packing and micro-kernel of the CPU GEMM. Caseless namespace; every function works on raw pointers.
enum GemmKernel {
    /// Micro-tile rows: the micro-kernel keeps a `[mr, nr]` block of C in registers.
    static let mr = 6
    /// Micro-tile columns: two `SIMD8<Float>` per row. 6·2 = 12 accumulators + 2 B vectors + 1 broadcast
    /// A value = 15 of the 16 ymm registers of AVX2.
    static let nr = 16

    // MARK: - Packing

    /// Packs op(A)`[rows, depth]` into `mr`-row micro-panels, zero-padded to a multiple of `mr` rows:
    /// `dst[q·depth·mr + p·mr + r] = src[(q·mr + r)·rowStride + p·colStride]`.
    /// `rowStride`/`colStride` are (k, 1) for A and (1, m) for transposed A, so both cases are one loop.
    static func packA(_ src: UnsafePointer<Float>, rowStride: Int, colStride: Int, rows: Int, depth: Int,
                      into dst: UnsafeMutablePointer<Float>) {
        var out = dst
        for r0 in stride(from: 0, to: rows, by: mr) {
            let h = min(mr, rows - r0)
            let base = src + r0 * rowStride
            if h == mr && rowStride == 1 {
                // Transposed A: the mr values of one column are contiguous.
                for p in 0..<depth {
                    (out + p * mr).update(from: base + p * colStride, count: mr)
                }
            } else if h == mr && colStride == 1 {
                // A: interleave mr contiguous rows.
                let r0 = base, r1 = base + rowStride, r2 = base + 2 * rowStride
                let r3 = base + 3 * rowStride, r4 = base + 4 * rowStride, r5 = base + 5 * rowStride
                for p in 0..<depth {
                    let o = out + p * mr
                    o[0] = r0[p]; o[1] = r1[p]; o[2] = r2[p]; o[3] = r3[p]; o[4] = r4[p]; o[5] = r5[p]
                }
            } else {
                for p in 0..<depth {
                    let o = out + p * mr
                    for r in 0..<h { o[r] = base[r * rowStride + p * colStride] }
                    for r in h..<mr { o[r] = 0 }
                }
            }
            out += depth * mr
        }
    }

    /// Packs op(B)`[depth, cols]` into `nr`-column micro-panels, zero-padded to a multiple of `nr` columns:
    /// `dst[q·depth·nr + p·nr + c] = src[p·rowStride + (q·nr + c)·colStride]`.
    /// `rowStride`/`colStride` are (n, 1) for B and (1, k) for transposed B.
    static func packB(_ src: UnsafePointer<Float>, rowStride: Int, colStride: Int, depth: Int, cols: Int,
                      into dst: UnsafeMutablePointer<Float>) {
        var out = dst
        for c0 in stride(from: 0, to: cols, by: nr) {
            let w = min(nr, cols - c0)
            let base = src + c0 * colStride
            if w == nr && colStride == 1 {
                // B: one row of the panel is 16 contiguous floats.
                for p in 0..<depth {
                    let row = UnsafeRawPointer(base + p * rowStride)
                    let o = UnsafeMutableRawPointer(out + p * nr)
                    o.storeBytes(of: row.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                    o.storeBytes(of: row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
                                 toByteOffset: 32, as: SIMD8<Float>.self)
                }
            } else {
                if w < nr { out.update(repeating: 0, count: depth * nr) }
                // Transposed B: walk each source column (contiguous in p) and scatter it.
                for c in 0..<w {
                    let column = base + c * colStride
                    for p in 0..<depth { out[p * nr + c] = column[p * rowStride] }
                }
            }
            out += depth * nr
        }
    }

    // MARK: - Micro-kernel

    /// `C[0..<rows, 0..<cols] = alpha·(Ap·Bp) + beta·C` for one micro-tile, where `Ap` is one packed
    /// `[depth, mr]` micro-panel of A and `Bp` one packed `[depth, nr]` micro-panel of B (both 32-byte
    /// aligned). `beta == 0` overwrites C without reading it. `ldc` is C's row stride.
    ///
    /// The full 6×16 product is accumulated in registers; an edge tile (`rows < mr` or `cols < nr`) is
    /// computed in full from the zero-padded panels and only its valid part is stored.
    @inline(__always)
    static func microkernel(depth: Int, _ ap: UnsafePointer<Float>, _ bp: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int,
                            alpha: Float, beta: Float) {
        typealias V = SIMD8<Float>
        // acc<row><half>: row r of the tile, columns 0..<8 (a) and 8..<16 (b).
        var c0a = V(), c0b = V(), c1a = V(), c1b = V(), c2a = V(), c2b = V()
        var c3a = V(), c3b = V(), c4a = V(), c4b = V(), c5a = V(), c5b = V()
        var a = UnsafeRawPointer(ap), b = UnsafeRawPointer(bp)
        for _ in 0..<depth {
            // One rank-1 update: 2 loads of B, 6 broadcasts of A, 12 FMAs.
            let b0 = b.load(as: V.self), b1 = b.load(fromByteOffset: 32, as: V.self)
            var x = V(repeating: a.load(as: Float.self))
            c0a = c0a.addingProduct(x, b0); c0b = c0b.addingProduct(x, b1)
            x = V(repeating: a.load(fromByteOffset: 4, as: Float.self))
            c1a = c1a.addingProduct(x, b0); c1b = c1b.addingProduct(x, b1)
            x = V(repeating: a.load(fromByteOffset: 8, as: Float.self))
            c2a = c2a.addingProduct(x, b0); c2b = c2b.addingProduct(x, b1)
            x = V(repeating: a.load(fromByteOffset: 12, as: Float.self))
            c3a = c3a.addingProduct(x, b0); c3b = c3b.addingProduct(x, b1)
            x = V(repeating: a.load(fromByteOffset: 16, as: Float.self))
            c4a = c4a.addingProduct(x, b0); c4b = c4b.addingProduct(x, b1)
            x = V(repeating: a.load(fromByteOffset: 20, as: Float.self))
            c5a = c5a.addingProduct(x, b0); c5b = c5b.addingProduct(x, b1)
            a += mr * 4
            b += nr * 4
        }

        if rows == mr && cols == nr {
            store(c0a, c0b, to: c, alpha: alpha, beta: beta)
            store(c1a, c1b, to: c + ldc, alpha: alpha, beta: beta)
            store(c2a, c2b, to: c + 2 * ldc, alpha: alpha, beta: beta)
            store(c3a, c3b, to: c + 3 * ldc, alpha: alpha, beta: beta)
            store(c4a, c4b, to: c + 4 * ldc, alpha: alpha, beta: beta)
            store(c5a, c5b, to: c + 5 * ldc, alpha: alpha, beta: beta)
            return
        }
        // Edge tile: spill the accumulators and store the valid rows × cols.
        withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * mr) { tile in
            tile[0] = c0a; tile[1] = c0b; tile[2] = c1a; tile[3] = c1b; tile[4] = c2a; tile[5] = c2b
            tile[6] = c3a; tile[7] = c3b; tile[8] = c4a; tile[9] = c4b; tile[10] = c5a; tile[11] = c5b
            let t = UnsafeRawPointer(tile.baseAddress!).assumingMemoryBound(to: Float.self)
            for r in 0..<rows {
                let row = c + r * ldc, acc = t + r * nr
                if beta == 0 {
                    for j in 0..<cols { row[j] = alpha * acc[j] }
                } else {
                    for j in 0..<cols { row[j] = alpha * acc[j] + beta * row[j] }
                }
            }
        }
    }

    /// Stores one full 16-wide row of the tile: `C = alpha·acc + beta·C` (C not read when beta == 0).
    @inline(__always)
    private static func store(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, to c: UnsafeMutablePointer<Float>,
                              alpha: Float, beta: Float) {
        let p = UnsafeMutableRawPointer(c)
        var x = lo * alpha, y = hi * alpha
        if beta != 0 {
            x = x.addingProduct(p.loadUnaligned(as: SIMD8<Float>.self), beta)
            y = y.addingProduct(p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), beta)
        }
        p.storeBytes(of: x, as: SIMD8<Float>.self)
        p.storeBytes(of: y, toByteOffset: 32, as: SIMD8<Float>.self)
    }
}
