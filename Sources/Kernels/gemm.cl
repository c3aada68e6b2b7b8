// gemm: row-major batched C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b] (OpenCL C 1.2, fp32).
//
// Build options (set by the host, OpenCLBackend+Gemm.swift):
//   -D TM=n -D TN=n   micro-tile: each work-item computes TM x TN elements of C.
//   -D DOUBLE_BUFFER  two local slices: slice i+1 is stored into the other buffer while slice i is multiplied,
//                     one barrier per K-step instead of two (twice the local memory; the host sets it when
//                     that fits, see TileStaging).
//   -D VEC_LOADS      float4 global loads (each work-item TM/4 + TN/4 of them per slice instead of TM + TN
//                     scalars). The host sets it only when every operand's contiguous extent (K of A and B^T,
//                     M of A^T, N of B), offset and batch stride are multiples of 4: each float4 then starts
//                     16-byte aligned and lies wholly inside or wholly outside the matrix.
//   -D TF32_MMA / -D TF32_EMULATE  (opt-in `--tf32`) the block's products on NVIDIA's tensor cores in TF32, or the
//                     emulation of that instruction (tf32.cl, prepended by the host; see "TF32" below).
// Transposes are kernel arguments (uniform branches in the tile loads only), so one program per tile
// size serves all four combinations: op(A) [M, K] is A [M, K] or A^T with A stored [K, M]; op(B) [K, N]
// is B [K, N] or B^T with B stored [N, K].
//
// Scheme (one work-group = 16 x 16 work-items = one BM x BN block of C, BM = 16·TM, BN = 16·TN):
//   1. The K loop walks BK = 16 deep slices. Each slice of op(A) [BM, BK] and op(B) [BK, BN] is staged
//      in local memory, stored k-major (As[k][m], Bs[k][n]) so the inner loop reads rows.
//   2. Global loads are coalesced for each storage order: along K when the source is K-contiguous
//      (A, B^T; a half-warp reads 64 contiguous bytes), along M/N otherwise (A^T, B; a warp reads 128).
//      The next slice is prefetched into registers while the current one is multiplied (and, with
//      DOUBLE_BUFFER, stored into the second local buffer after it, so one barrier per slice suffices).
//   3. Work-item (tx, ty) owns rows 64·g + 4·ty + q and columns 64·h + 4·tx + q (q < 4) of the block:
//      groups of 4 so each k step reads its operands as float4 (TM/4 + TN/4 16-byte local loads per
//      TM·TN FMAs); in a warp the As reads are 2 broadcasts and the Bs reads 256 contiguous bytes, so
//      no bank conflicts. Each half-warp stores 64 contiguous floats of a row of C.
//   4. Local rows are padded to BM + 4 / BN + 4 words (16-byte aligned for float4 reads).
//   5. Every global access is bounds-checked (out-of-range elements load as 0), so M, N, K need not be
//      multiples of the tiles. beta == 0 never reads C (C may hold NaN).
// The batch index is global dimension 2; per-batch strides may be 0 (broadcast).

#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 8
#endif
#if TM % 4 != 0 || TN % 4 != 0
#error "TM and TN must be multiples of 4"
#endif

#define WX 16                // work-items along N (get_local_id(0))
#define WY 16                // work-items along M (get_local_id(1))
#define NT (WX * WY)         // 256 work-items
#define BM (WY * TM)         // block rows
#define BN (WX * TN)         // block columns
#define BK 16                // K slice
#ifdef TF32
#define LDA (BM + 8)         // padded local row lengths in floats (multiples of 4); with TF32 8, so that the
#define LDB (BN + 8)         // fragment reads hit distinct banks (tf32.cl)
#else
#define LDA (BM + 4)
#define LDB (BN + 4)
#endif
// Elements of a slice each work-item loads: BM·BK / NT = TM for A, BK·BN / NT = TN for B. The helpers below loop to
// the larger, SLICE_MAX, and skip the elements past `count`: a constant trip count unrolls in the helper itself, so
// their register arrays are indexed by constants whatever order a compiler inlines and unrolls in (a loop to a
// `count` argument could be partly unrolled before inlining, leaving the arrays in local memory).
#define SLICE_MAX (TM > TN ? TM : TN)

// One operand slice: rows r0.. of R (M of op(A), N of op(B); BR per block) by k0.. of K (BK), stored [R, K]
// ("k fast": consecutive work-items read consecutive k) or [K, R] ("r fast": consecutive r). op(A) is r fast when
// transA (A stored [K, M]), op(B) when !transB (B stored [K, N]); the flag is uniform over the launch, so its
// branches cost no divergence. Element l (< BR·BK/NT: TM for A, TN for B) of this work-item's share goes to local
// position (k, r) of the slice, row length LD.
INLINE void load_slice(float *v, const int count, __global const float *P, const int R, const int K,
                       const int r0, const int k0, const int tid, const int rFast, const int BR) {
    if (rFast) {
#pragma unroll
        for (int l = 0; l < SLICE_MAX; l++) if (l < count) {
            const int idx = tid + l * NT, gr = r0 + idx % BR, gk = k0 + idx / BR;
            v[l] = (gr < R && gk < K) ? P[(long)gk * R + gr] : 0.0f;
        }
    } else {
#pragma unroll
        for (int l = 0; l < SLICE_MAX; l++) if (l < count) {
            const int idx = tid + l * NT, gr = r0 + idx / BK, gk = k0 + idx % BK;
            v[l] = (gr < R && gk < K) ? P[(long)gr * K + gk] : 0.0f;
        }
    }
}

INLINE void store_slice(__local float *S, const float *v, const int count, const int tid, const int rFast, const int BR,
                        const int LD) {
#pragma unroll
    for (int l = 0; l < SLICE_MAX; l++) if (l < count) {
        const int idx = tid + l * NT;
        S[rFast ? (idx / BR) * LD + idx % BR : (idx % BK) * LD + idx / BK] = LOCAL_VALUE(v[l]);
    }
}

#ifdef VEC_LOADS
// The same with float4 loads of 4 consecutive elements along the stored rows (count/4 per work-item); the bounds
// check of a vector's first element covers all four (see the top of the file). An r-fast vector is one float4
// local store; a k-fast one is four elements of a local column.
INLINE void load_slice4(float4 *v, const int count, __global const float *P, const int R, const int K,
                        const int r0, const int k0, const int tid, const int rFast, const int BR) {
#pragma unroll
    for (int l = 0; l < SLICE_MAX / 4; l++) if (l < count / 4) {
        const int idx = tid + l * NT;
        const int gr = rFast ? r0 + 4 * (idx % (BR / 4)) : r0 + idx / (BK / 4);
        const int gk = rFast ? k0 + idx / (BR / 4) : k0 + 4 * (idx % (BK / 4));
        v[l] = (gr < R && gk < K) ? *(__global const float4 *)(P + (rFast ? (long)gk * R + gr : (long)gr * K + gk))
                                  : (float4)(0.0f);
    }
}

INLINE void store_slice4(__local float *S, const float4 *v, const int count, const int tid, const int rFast, const int BR,
                         const int LD) {
#pragma unroll
    for (int l = 0; l < SLICE_MAX / 4; l++) if (l < count / 4) {
        const int idx = tid + l * NT;
        const float4 x = LOCAL_VALUE4(v[l]);
        if (rFast) {
            *(__local float4 *)(S + (idx / (BR / 4)) * LD + 4 * (idx % (BR / 4))) = x;
        } else {
            __local float *c = S + 4 * (idx % (BK / 4)) * LD + idx / (BK / 4);
            c[0] = x.x; c[LD] = x.y; c[2 * LD] = x.z; c[3 * LD] = x.w;
        }
    }
}

#define SLICE_REGS float4 ra[TM / 4], rb[TN / 4];
#define LOAD_OP load_slice4
#define STORE_OP store_slice4
#else
#define SLICE_REGS float ra[TM], rb[TN];
#define LOAD_OP load_slice
#define STORE_OP store_slice
#endif

// The prefetched slice's loads (registers ra, rb) and their stores into local stage s.
#define LOAD_SLICE(k)  { LOAD_OP(ra, TM, A, M, K, m0, (k), tid, transA, BM); LOAD_OP(rb, TN, B, N, K, n0, (k), tid, !transB, BN); }
#define STORE_SLICE(s) { STORE_OP((__local float *)As[s], ra, TM, tid, transA, BM, LDA); \
                         STORE_OP((__local float *)Bs[s], rb, TN, tid, !transB, BN, LDB); }

#ifdef DOUBLE_BUFFER
#define STAGES 2
#else
#define STAGES 1
#endif

// acc += As[k, rows of ty] ⊗ Bs[k, cols of tx] over one BK slice (float4 local reads, see the top of the file).
INLINE void mac_slice(__local const float4 *As, __local const float4 *Bs, float acc[TM][TN], const int tx, const int ty) {
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
        float a[TM], b[TN];
#pragma unroll
        for (int g = 0; g < TM / 4; g++) {
            const float4 v = As[kk * (LDA / 4) + g * WY + ty];
            a[4 * g] = v.x; a[4 * g + 1] = v.y; a[4 * g + 2] = v.z; a[4 * g + 3] = v.w;
        }
#pragma unroll
        for (int h = 0; h < TN / 4; h++) {
            const float4 v = Bs[kk * (LDB / 4) + h * WX + tx];
            b[4 * h] = v.x; b[4 * h + 1] = v.y; b[4 * h + 2] = v.z; b[4 * h + 3] = v.w;
        }
#pragma unroll
        for (int i = 0; i < TM; i++)
#pragma unroll
            for (int j = 0; j < TN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
}

#ifdef TF32
// TF32 (tf32.cl): the 256 work-items are 8 warps laid out by tf32.cl's rule over the BM x BN block (2 x 4: BM is at
// least 64), each owning MT = TM/2 m16 tiles by NT8 = TN/2 n8 tiles of mma.m16n8k8: MT·NT8·4 = TM·TN accumulators
// per work-item, as in the fp32 path.
#define MT TF32_MT(BM, NT)
#define NT8 TF32_NT8(BM, BN, NT)
#if !TF32_LAYOUT_OK(BM, BN, NT) || 4 * MT * NT8 != TM * TN
#error "TF32 gemm tile: whole warps of whole m16 x n8 tiles, TM·TN accumulators"
#endif
#define WROW(tid) TF32_WROW(BM, NT, tid)
#define WCOL(tid) TF32_WCOL(BM, BN, NT, tid)
#define MAC(s) mac_tf32((__local const float *)As[s], (__local const float *)Bs[s], LDA, LDB, BK, WROW(tid), WCOL(tid), \
                        (float *)acc, MT, NT8, X, tid)
#else
#define MAC(s) mac_slice(As[s], Bs[s], acc, tx, ty)
#endif

__kernel __attribute__((reqd_work_group_size(WX, WY, 1)))
void gemm(const int M, const int N, const int K,
          __global const float *A, const int offA, const int strideA,
          __global const float *B, const int offB, const int strideB,
          __global float *C, const int offC, const int strideC,
          const int transA, const int transB, const float alpha, const float beta) {
    __local float4 As[STAGES][BK * LDA / 4];   // [BK][LDA] floats per stage
    __local float4 Bs[STAGES][BK * LDB / 4];   // [BK][LDB] floats per stage

    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WX + tx;
    const int n0 = get_group_id(0) * BN, m0 = get_group_id(1) * BM;
    const long item = get_global_id(2);
    A += offA + item * strideA;
    B += offB + item * strideB;
    C += offC + item * strideC;

#ifdef TF32
    TF32_EXCHANGE(NT, MT, NT8)
#endif
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

    SLICE_REGS
    LOAD_SLICE(0)
#if STAGES == 2
    STORE_SLICE(0)
    barrier(CLK_LOCAL_MEM_FENCE);
    int cur = 0;
    for (int k0 = 0; k0 < K; k0 += BK) {
        const bool more = k0 + BK < K;
        // Prefetch the next slice into registers; its loads are in flight during the multiply, and it goes into
        // the other buffer (last read before the previous barrier) after it.
        if (more) LOAD_SLICE(k0 + BK)
        MAC(cur);
        if (more) STORE_SLICE(cur ^ 1)
        barrier(CLK_LOCAL_MEM_FENCE);
        cur ^= 1;
    }
#else
    for (int k0 = 0; k0 < K; k0 += BK) {
        STORE_SLICE(0)
        barrier(CLK_LOCAL_MEM_FENCE);
        // Prefetch the next slice; its loads are in flight during the multiply below.
        if (k0 + BK < K) LOAD_SLICE(k0 + BK)
        MAC(0);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#endif

#ifdef TF32
    // The accumulators as a (2·MT) x (2·NT8) register block in tf32.cl's layout.
    __private const float *block = (__private const float *)acc;
#pragma unroll
    for (int i = 0; i < 2 * MT; i++) {
        const int gm = m0 + WROW(tid) + TF32_ROW(i, tid);
#pragma unroll
        for (int j = 0; j < 2 * NT8; j++) {
            const int gn = n0 + WCOL(tid) + TF32_COL(j, tid);
            if (gm < M && gn < N) {
                const float v = block[i * (2 * NT8) + j];
                __global float *c = C + (long)gm * N + gn;
                *c = beta == 0.0f ? alpha * v : alpha * v + beta * *c;
            }
        }
    }
#else
#pragma unroll
    for (int i = 0; i < TM; i++) {
        const int gm = m0 + (i / 4) * (4 * WY) + 4 * ty + i % 4;
        if (gm < M) {
#pragma unroll
            for (int j = 0; j < TN; j++) {
                const int gn = n0 + (j / 4) * (4 * WX) + 4 * tx + j % 4;
                if (gn < N) {
                    __global float *c = C + (long)gm * N + gn;
                    *c = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *c;
                }
            }
        }
    }
#endif
}

// k == 0: the product is empty, C = beta·C (zero when beta == 0, whatever C held). Global [M·N, batch].
__kernel void gemm_scale(const int count, __global float *C, const int offC, const int strideC, const float beta) {
    const int i = get_global_id(0);
    if (i >= count) return;
    __global float *c = C + offC + (long)get_global_id(1) * strideC + i;
    *c = beta == 0.0f ? 0.0f : beta * *c;
}
