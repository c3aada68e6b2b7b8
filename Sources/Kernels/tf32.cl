// TF32 tensor-core helpers of the tiled kernels (prepended by the host to gemm.cl and conv2d.cl; OpenCL C 1.2).
//
// -D TF32_MMA      (NVIDIA, opt-in `--tf32`) one warp multiplies 16x8x8 blocks on the tensor cores: inline PTX
//                  mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, TF32 operands, fp32 accumulation.
// -D TF32_EMULATE  the same with mma.sync replaced by an emulation of its documented fragment semantics (a
//                  local-memory exchange between the lanes of each warp): the kernels' fragment reads, rounding and
//                  accumulator layout run unchanged, on any device (the tests' and PoCL's path).
// Neither: LOCAL_VALUE is the identity and nothing here is used.
//
// A kernel stores its operand tiles into local memory through LOCAL_VALUE (rounded to TF32 once per element per
// block), keeps k-major tiles As[k][lda] (rows m) and Bs[k][ldb] (columns n), and calls mac_tf32 per K-step. Its
// 32·w work-items are w warps of 32 (linear local id lid = 32·warp + lane, as NVIDIA forms them); each warp owns an
// (16·mt) x (8·nt8) block of the tile at (wrow, wcol), kept in acc[4·mt·nt8] in the layout of TF32_ACC below.
//
// Fragments of mma.m16n8k8 .tf32 (PTX ISA, "Matrix fragments for mma.m16n8k8"), lane = 4·g + t4 (g < 8, t4 < 4):
//   A (16 x 8, row):  a0 = A[g][t4], a1 = A[g + 8][t4], a2 = A[g][t4 + 4], a3 = A[g + 8][t4 + 4]
//   B (8 x 8, col):   b0 = B[t4][g], b1 = B[t4 + 4][g]
//   C, D (16 x 8):    c_q = C[g + 8·(q / 2)][2·t4 + q % 2], q < 4
// A row length lda ≡ 8 or 24 (mod 32) puts the 32 lanes' fragment reads (rows t4·lda + g) on 32 distinct banks.

#if defined(TF32_MMA) || defined(TF32_EMULATE)
#define TF32

// Round to TF32 (10 explicit mantissa bits) to nearest, ties away from zero: PTX's cvt.rna.tf32.f32 on the bits.
// NaN stays NaN (adding half an ulp could carry a low-bit payload into an infinity); a value that rounds past
// FLT_MAX becomes infinite, as cvt.rna does.
INLINE float to_tf32(const float x) { return isnan(x) ? x : as_float((as_uint(x) + 0x1000u) & 0xffffe000u); }
INLINE float4 to_tf32_4(const float4 x) { return (float4)(to_tf32(x.x), to_tf32(x.y), to_tf32(x.z), to_tf32(x.w)); }
#define LOCAL_VALUE(x) to_tf32(x)
#define LOCAL_VALUE4(x) to_tf32_4(x)

// Largest per-warp tile counts (register arrays are sized by them; TF32_LAYOUT_OK checks a tile against them).
#define TF32_MAX_MT 4
#define TF32_MAX_NT8 8
// The helpers below loop to these maxima and skip the tiles past mt, nt8: constant trip counts unroll inside the helper
// whatever order a compiler inlines and unrolls in, so the fragment and accumulator arrays stay in registers.

// The warp layout of a rows x cols tile computed by `threads` work-items (threads/32 warps): 2 x (warps/2) where the
// tile has at least 32 rows and 2 warps, else 1 x warps. Warp w owns the (16·mt) x (8·nt8) block at
// (TF32_WROW, TF32_WCOL): mt = TF32_MT m16 tiles by nt8 = TF32_NT8 n8 tiles, 4·mt·nt8 accumulators per work-item.
// (The host mirrors this rule: ConvTile.tf32Warps.)
#define TF32_WARPS_M(rows, threads) ((rows) >= 32 && (threads) >= 64 ? 2 : 1)
#define TF32_WARPS_N(rows, threads) ((threads) / 32 / TF32_WARPS_M(rows, threads))
#define TF32_MT(rows, threads) ((rows) / 16 / TF32_WARPS_M(rows, threads))
#define TF32_NT8(rows, cols, threads) ((cols) / 8 / TF32_WARPS_N(rows, threads))
#define TF32_WROW(rows, threads, lid) ((lid) / 32 / TF32_WARPS_N(rows, threads) * ((rows) / TF32_WARPS_M(rows, threads)))
#define TF32_WCOL(rows, cols, threads, lid) ((lid) / 32 % TF32_WARPS_N(rows, threads) * ((cols) / TF32_WARPS_N(rows, threads)))
// Whether the layout fits the tile (for the kernels' #error): whole warps, whole m16 x n8 tiles, within the maxima.
#define TF32_LAYOUT_OK(rows, cols, threads)                                                                       \
    ((threads) % 32 == 0 && (rows) % (16 * TF32_WARPS_M(rows, threads)) == 0                                      \
     && (cols) % (8 * TF32_WARPS_N(rows, threads)) == 0 && TF32_MT(rows, threads) <= TF32_MAX_MT                  \
     && TF32_NT8(rows, cols, threads) <= TF32_MAX_NT8)
// The kernel-scope declaration of mac_tf32's X: the emulation's exchange buffer (4·mt + 2·nt8 floats per lane), or
// an unused null pointer for mma.sync.
#ifdef TF32_EMULATE
#define TF32_EXCHANGE(threads, mt, nt8) __local float X[(threads) * (4 * (mt) + 2 * (nt8))];
#else
#define TF32_EXCHANGE(threads, mt, nt8) __local float *X = 0;
#endif

// Accumulator q of tile (mt, nt) of a warp with nt8 tiles across: row 2·mt + q / 2, column 2·nt + q % 2 of a
// (2·mt) x (2·nt8) register block whose row i is tile row 16·(i / 2) + g + 8·(i % 2) and column j is tile column
// 8·(j / 2) + 2·t4 + j % 2 (TF32_ROW, TF32_COL).
#define TF32_ACC(acc, mt, nt, q, nt8) (acc)[(2 * (mt) + (q) / 2) * (2 * (nt8)) + 2 * (nt) + (q) % 2]
#define TF32_ROW(i, lid) (16 * ((i) / 2) + ((lid) % 32) / 4 + 8 * ((i) % 2))
#define TF32_COL(j, lid) (8 * ((j) / 2) + 2 * ((lid) % 4) + (j) % 2)

#ifdef TF32_MMA
// acc += A·B for each of the warp's mt x nt8 tiles (one k8 step): mma.sync on the tensor cores. X, lid: unused.
INLINE void warp_mma_tf32(float *acc, const uint *a, const uint *b, const int mt, const int nt8, __local float *X,
                          const int lid) {
#pragma unroll
    for (int i = 0; i < TF32_MAX_MT; i++)
#pragma unroll
        for (int j = 0; j < TF32_MAX_NT8; j++)
            if (i < mt && j < nt8)
            __asm__ __volatile__("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
                                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};"
                                 : "=f"(TF32_ACC(acc, i, j, 0, nt8)), "=f"(TF32_ACC(acc, i, j, 1, nt8)),
                                   "=f"(TF32_ACC(acc, i, j, 2, nt8)), "=f"(TF32_ACC(acc, i, j, 3, nt8))
                                 : "r"(a[4 * i]), "r"(a[4 * i + 1]), "r"(a[4 * i + 2]), "r"(a[4 * i + 3]),
                                   "r"(b[2 * j]), "r"(b[2 * j + 1]),
                                   "f"(TF32_ACC(acc, i, j, 0, nt8)), "f"(TF32_ACC(acc, i, j, 1, nt8)),
                                   "f"(TF32_ACC(acc, i, j, 2, nt8)), "f"(TF32_ACC(acc, i, j, 3, nt8)));
}
#else
// The same by the fragment semantics above: every lane publishes its fragments in X (4·mt + 2·nt8 floats per lane,
// lanes in local-id order), and after a barrier computes its own accumulators from the lanes that hold its row of
// A and column of B (products of TF32 values are exact in fp32; the sum runs over k in order). Two barriers per
// call: the whole work-group calls it together (the calls sit in uniform loops).
INLINE void warp_mma_tf32(float *acc, const uint *a, const uint *b, const int mt, const int nt8, __local float *X,
                          const int lid) {
    const int per = 4 * mt + 2 * nt8;
#pragma unroll
    for (int r = 0; r < 4 * TF32_MAX_MT; r++) if (r < 4 * mt) X[lid * per + r] = as_float(a[r]);
#pragma unroll
    for (int r = 0; r < 2 * TF32_MAX_NT8; r++) if (r < 2 * nt8) X[lid * per + 4 * mt + r] = as_float(b[r]);
    barrier(CLK_LOCAL_MEM_FENCE);
    __local const float *warp = X + (lid / 32) * 32 * per;
    const int g = (lid % 32) / 4, t4 = lid % 4;
#pragma unroll
    for (int i = 0; i < TF32_MAX_MT; i++)
#pragma unroll
        for (int j = 0; j < TF32_MAX_NT8; j++)
#pragma unroll
            for (int q = 0; q < 4; q++) {
                if (i >= mt || j >= nt8) continue;
                const int row = g + 8 * (q / 2), col = 2 * t4 + q % 2;
                float sum = TF32_ACC(acc, i, j, q, nt8);
                for (int k = 0; k < 8; k++) {
                    // A[row][k]: lane 4·(row % 8) + k % 4, register row / 8 + 2·(k / 4) of tile i;
                    // B[k][col]: lane 4·col + k % 4, register k / 4 of tile j.
                    const float av = warp[(4 * (row % 8) + k % 4) * per + 4 * i + row / 8 + 2 * (k / 4)];
                    const float bv = warp[(4 * col + k % 4) * per + 4 * mt + 2 * j + k / 4];
                    sum = fma(av, bv, sum);
                }
                TF32_ACC(acc, i, j, q, nt8) = sum;
            }
    barrier(CLK_LOCAL_MEM_FENCE);
}
#endif

// acc += As ⊗ Bs over `depth` (a multiple of 8) k rows: per k8 step, this lane's fragments of the warp's mt x nt8
// tiles at (wrow, wcol) (scalar local reads; the operands are TF32 already, so their bits go to mma.sync as they
// are), then the warp's mma. X: the emulation's exchange buffer (unused by mma.sync).
INLINE void mac_tf32(__local const float *As, __local const float *Bs, const int lda, const int ldb, const int depth,
                     const int wrow, const int wcol, float *acc, const int mt, const int nt8, __local float *X,
                     const int lid) {
    const int g = (lid % 32) / 4, t4 = lid % 4;
#pragma unroll
    for (int kk = 0; kk < depth; kk += 8) {
        uint a[4 * TF32_MAX_MT], b[2 * TF32_MAX_NT8];
        __local const float *a0 = As + (kk + t4) * lda + wrow + g, *a4 = a0 + 4 * lda;
#pragma unroll
        for (int i = 0; i < TF32_MAX_MT; i++) {
            if (i >= mt) continue;
            a[4 * i] = as_uint(a0[16 * i]);
            a[4 * i + 1] = as_uint(a0[16 * i + 8]);
            a[4 * i + 2] = as_uint(a4[16 * i]);
            a[4 * i + 3] = as_uint(a4[16 * i + 8]);
        }
        __local const float *b0 = Bs + (kk + t4) * ldb + wcol + g, *b4 = b0 + 4 * ldb;
#pragma unroll
        for (int j = 0; j < TF32_MAX_NT8; j++) {
            if (j >= nt8) continue;
            b[2 * j] = as_uint(b0[8 * j]);
            b[2 * j + 1] = as_uint(b4[8 * j]);
        }
        warp_mma_tf32(acc, a, b, mt, nt8, X, lid);
    }
}
#else
#define LOCAL_VALUE(x) (x)
#define LOCAL_VALUE4(x) (x)
#endif
