// Matrix multiply of the CPU backend (gemm.cl on OpenCL).
//
// Blocking scheme (GotoBLAS / BLIS five loops). For each batch item, C `[m, n]` is cut into a grid of
// thread regions (`GemmPlan`); a region is an independent GEMM that one worker runs with its own packing
// buffers, so workers never synchronise:
//
//   for jc in region columns, step nc              loop 5: B block [kc, nc] (≤ 2 MiB) stays in L3
//     for pc in 0 ..< k, step kc                   loop 4: rank-kc update (beta applied at pc == 0 only)
//       pack op(B)[pc.., jc..] -> Bp                        [nc/16][kc][16], zero-padded columns
//       for ic in region rows, step mc             loop 3: A block [mc, kc] (≤ 120 KiB) stays in L2
//         pack op(A)[ic.., pc..] -> Ap                      [mc/6][kc][6], zero-padded rows
//         for jr in 0 ..< nc, step 16              loop 2: one B micro-panel [kc, 16] (16 KiB) in L1
//           for ir in 0 ..< mc, step 6             loop 1: one A micro-panel [kc, 6] streamed from L2
//             C[ic+ir.., jc+jr..] = alpha·Ap·Bp + beta·C    6×16 micro-kernel, 12 SIMD8 accumulators
//
// Transposes only change the strides the packing routines read with; the micro-kernel never sees them.
// Products with m ≤ 8 rows skip all of this (GemmSkinny.swift); the convolution runs one region per
// work item itself (`gemmSerial`), with operands addressed through `GemmOperands` strides.

/// Cache-blocking sizes of the CPU GEMM (elements), chosen for AMD Zen 3 / recent Intel (32 KiB L1d,
/// ≥ 512 KiB L2 per core); kc 192–384 and mc 96–144 measured within noise of each other.
enum GemmBlocking {
    /// Depth of one rank-kc update: a B micro-panel `kc·16·4` = 16 KiB fits L1 with room for A.
    static let kc = 256
    /// Rows of the packed A block (multiple of `GemmKernel.mr`): `mc·kc·4` = 120 KiB in L2.
    static let mc = 120
    /// Columns of the packed B block (multiple of `GemmKernel.nr`): `kc·nc·4` = 2 MiB in L3.
    static let nc = 2048
    /// Below this many flops in total the call runs on the calling thread (dispatch costs ~10 µs).
    static let serialFlops = 1 << 20
    /// A thread region gets at least this many flops, else fewer regions are made.
    static let minRegionFlops = 1 << 19
}

/// How one `gemm` call is split over workers: `batch · regions` work items, region `r` of an item
/// covering row block `r / cols` and column block `r % cols` of C.
struct GemmPlan {
    let rowBlocks: Int, colBlocks: Int
    /// False for small calls, which run on the calling thread.
    let parallel: Bool

    var regions: Int { rowBlocks * colBlocks }

    init(_ s: GemmShape, threads: Int) {
        let flops = 2 * s.m * s.n * s.k
        guard threads > 1, flops * s.batch >= GemmBlocking.serialFlops else {
            rowBlocks = 1; colBlocks = 1; parallel = false
            return
        }
        // Regions per item so that batch·regions is a multiple of the thread count (balanced), but none
        // smaller than minRegionFlops.
        var parts = threads / Self.gcd(s.batch, threads)
        parts = max(1, min(parts, flops / GemmBlocking.minRegionFlops))
        // Factor parts = rowBlocks·colBlocks so the largest region (in micro-tiles) is smallest; within
        // 5 % prefer more row blocks (each worker then packs less of A, whose packing is the slower one).
        let mTiles = (s.m + GemmKernel.mr - 1) / GemmKernel.mr, nTiles = (s.n + GemmKernel.nr - 1) / GemmKernel.nr
        var best = (rows: 1, cols: 1, cost: Int.max)
        for rows in (1...parts).reversed() where parts % rows == 0 {
            let cols = parts / rows
            guard rows <= mTiles, cols <= nTiles else { continue }
            let cost = ((mTiles + rows - 1) / rows) * ((nTiles + cols - 1) / cols)
            if best.cost == .max || cost * 20 < best.cost * 19 { best = (rows, cols, cost) }
        }
        rowBlocks = best.rows; colBlocks = best.cols
        parallel = s.batch * best.rows * best.cols > 1
    }

    /// `[lo, hi)` of block `index` of `count` blocks over `size` elements, cut at multiples of `unit`.
    static func split(_ size: Int, unit: Int, count: Int, index: Int) -> Range<Int> {
        let units = (size + unit - 1) / unit
        return min(size, index * units / count * unit) ..< min(size, (index + 1) * units / count * unit)
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}

extension CPUBackend {
    /// Row-major batched GEMM `C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b]` (see `GemmShape`), blocked and
    /// packed as described at the top of this file.
    public func gemm(_ s: GemmShape, a: any Buffer, b: any Buffer, c: any Buffer) throws {
        try s.validate(a: a.count, b: b.count, c: c.count)
        let pa = UnsafePointer(try ptr(a, "gemm")), pb = UnsafePointer(try ptr(b, "gemm")), pc = try ptr(c, "gemm")
        guard s.m > 0, s.n > 0, s.batch > 0 else { return }
        if s.k == 0 { return Self.scale(s, pc) }
        if s.m <= Self.skinnyRows { return gemmSkinny(s, a: pa, b: pb, c: pc) }   // GemmSkinny.swift

        let plan = GemmPlan(s, threads: threads)
        let items = s.batch * plan.regions
        // Packing buffers sized for the largest region of this call.
        let regionRows = ((s.m + GemmKernel.mr - 1) / GemmKernel.mr + plan.rowBlocks - 1) / plan.rowBlocks * GemmKernel.mr
        let regionCols = ((s.n + GemmKernel.nr - 1) / GemmKernel.nr + plan.colBlocks - 1) / plan.colBlocks * GemmKernel.nr
        let kc = min(GemmBlocking.kc, s.k)
        let sizeA = min(GemmBlocking.mc, regionRows) * kc, sizeB = kc * min(GemmBlocking.nc, regionCols)

        // Each chunk of work items borrows its own packing buffers.
        let offsetB = (sizeA + 15) / 16 * 16
        let run = { (chunk: Range<Int>) in
            self.scratch.withFloats(offsetB + sizeB) { ap in
                for item in chunk {
                    let batch = item / plan.regions, region = item % plan.regions
                    let rows = GemmPlan.split(s.m, unit: GemmKernel.mr, count: plan.rowBlocks, index: region / plan.colBlocks)
                    let cols = GemmPlan.split(s.n, unit: GemmKernel.nr, count: plan.colBlocks, index: region % plan.colBlocks)
                    Self.gemmRegion(GemmOperands(s, a: pa + s.offsetA + batch * s.strideA, b: pb + s.offsetB + batch * s.strideB,
                                                 c: pc + s.offsetC + batch * s.strideC),
                                    rows: rows, cols: cols, packA: ap, packB: ap + offsetB)
                }
            }
        }
        if plan.parallel { parallelFor(items, grain: 1, run) } else { run(0..<items) }
    }

    /// One region `C[rows, cols]` of one product: loops 5 to 1 of the scheme above. `packA` holds
    /// `min(mc, rows)·min(kc, k)` floats, `packB` `min(kc, k)·min(nc, cols rounded up to nr)`.
    static func gemmRegion(_ o: GemmOperands, rows: Range<Int>, cols: Range<Int>,
                           packA: UnsafeMutablePointer<Float>, packB: UnsafeMutablePointer<Float>) {
        let mr = GemmKernel.mr, nr = GemmKernel.nr
        for jc in stride(from: cols.lowerBound, to: cols.upperBound, by: GemmBlocking.nc) {
            let nb = min(GemmBlocking.nc, cols.upperBound - jc)
            for pc in stride(from: 0, to: o.k, by: GemmBlocking.kc) {
                let kb = min(GemmBlocking.kc, o.k - pc)
                let beta = pc == 0 ? o.beta : 1     // later rank-kc updates accumulate onto C
                GemmKernel.packB(o.b + pc * o.bRow + jc * o.bCol, rowStride: o.bRow, colStride: o.bCol, depth: kb, cols: nb, into: packB)
                for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: GemmBlocking.mc) {
                    let mb = min(GemmBlocking.mc, rows.upperBound - ic)
                    GemmKernel.packA(o.a + ic * o.aRow + pc * o.aCol, rowStride: o.aRow, colStride: o.aCol, rows: mb, depth: kb, into: packA)
                    // Macro-kernel over the packed blocks.
                    for jr in stride(from: 0, to: nb, by: nr) {
                        for ir in stride(from: 0, to: mb, by: mr) {
                            GemmKernel.microkernel(depth: kb, packA + ir * kb, packB + jr * kb,
                                                   o.c + (ic + ir) * o.ldc + jc + jr, ldc: o.ldc,
                                                   rows: min(mr, mb - ir), cols: min(nr, nb - jr), alpha: o.alpha, beta: beta)
                        }
                    }
                }
            }
        }
    }

    /// The whole product `o` on the calling thread (the convolution runs one per work item).
    /// `scratch` holds at least `GemmScratch.count(n: o.n, k: o.k)` floats, 64-byte aligned.
    static func gemmSerial(_ o: GemmOperands, scratch: UnsafeMutablePointer<Float>) {
        guard o.m > 0, o.n > 0 else { return }
        guard o.k > 0 else {
            // Empty product: C = beta·C (zero when beta == 0, whatever C held).
            for i in 0..<o.m {
                let row = o.c + i * o.ldc
                if o.beta == 0 { row.update(repeating: 0, count: o.n) } else { for j in 0..<o.n { row[j] *= o.beta } }
            }
            return
        }
        gemmRegion(o, rows: 0..<o.m, cols: 0..<o.n, packA: scratch, packB: scratch + GemmScratch.sizeA)
    }

    /// k == 0: the product is empty, so `C = beta·C` (zero when beta == 0, whatever C held).
    private static func scale(_ s: GemmShape, _ pc: UnsafeMutablePointer<Float>) {
        for batch in 0..<s.batch {
            let c = pc + s.offsetC + batch * s.strideC
            if s.beta == 0 { c.update(repeating: 0, count: s.m * s.n) }
            else { for i in 0..<(s.m * s.n) { c[i] *= s.beta } }
        }
    }
}

/// One product `C = alpha·op(A)·op(B) + beta·C` as raw pointers and strides:
/// `op(A)[i, p] = a[i·aRow + p·aCol]`, `op(B)[p, j] = b[p·bRow + j·bCol]`, `C[i, j] = c[i·ldc + j]`.
/// Transposes are only strides here: `(aRow, aCol)` is `(k, 1)` for A and `(1, m)` for Aᵀ stored `[k, m]`.
struct GemmOperands {
    var m: Int, n: Int, k: Int
    var a: UnsafePointer<Float>, aRow: Int, aCol: Int
    var b: UnsafePointer<Float>, bRow: Int, bCol: Int
    var c: UnsafeMutablePointer<Float>, ldc: Int
    var alpha: Float = 1, beta: Float = 0

    init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aCol: Int,
         b: UnsafePointer<Float>, bRow: Int, bCol: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
         alpha: Float = 1, beta: Float = 0) {
        self.m = m; self.n = n; self.k = k
        self.a = a; self.aRow = aRow; self.aCol = aCol
        self.b = b; self.bRow = bRow; self.bCol = bCol
        self.c = c; self.ldc = ldc
        self.alpha = alpha; self.beta = beta
    }

    /// One batch item of a `GemmShape` (densely stored operands).
    init(_ s: GemmShape, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        let (aRow, aCol) = s.transA ? (1, s.m) : (s.k, 1)
        let (bRow, bCol) = s.transB ? (1, s.k) : (s.n, 1)
        self.init(m: s.m, n: s.n, k: s.k, a: a, aRow: aRow, aCol: aCol, b: b, bRow: bRow, bCol: bCol,
                  c: c, ldc: s.n, alpha: s.alpha, beta: s.beta)
    }
}

/// Packing space of `CPUBackend.gemmSerial`: a full A block, then a B block for up to `n` columns.
enum GemmScratch {
    static let sizeA = GemmBlocking.mc * GemmBlocking.kc
    static func count(n: Int, k: Int) -> Int {
        sizeA + min(GemmBlocking.kc, k) * min(GemmBlocking.nc, (n + GemmKernel.nr - 1) / GemmKernel.nr * GemmKernel.nr)
    }
}
