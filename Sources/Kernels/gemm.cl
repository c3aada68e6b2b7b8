// gemm: row-major batched C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b] (OpenCL C 1.2, fp32).
//
// Build options (set by the host, OpenCLBackend+Gemm.swift):
//   -D TM=n -D TN=n   micro-tile: each work-item computes TM x TN elements of C.
// Transposes are kernel arguments (uniform branches in the tile loads only), so one program per tile
// size serves all four combinations: op(A) [M, K] is A [M, K] or A^T with A stored [K, M]; op(B) [K, N]
// is B [K, N] or B^T with B stored [N, K].
//
// Scheme (one work-group = 16 x 16 work-items = one BM x BN block of C, BM = 16·TM, BN = 16·TN):
//   1. The K loop walks BK = 16 deep slices. Each slice of op(A) [BM, BK] and op(B) [BK, BN] is staged
//      in local memory, stored k-major (As[k][m], Bs[k][n]) so the inner loop reads rows.
//   2. Global loads are coalesced for each storage order: along K when the source is K-contiguous
//      (A, B^T; a half-warp reads 64 contiguous bytes), along M/N otherwise (A^T, B; a warp reads 128).
//      The next slice is prefetched into registers while the current one is multiplied.
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
#define LDA (BM + 4)         // padded local row lengths in floats (multiples of 4)
#define LDB (BN + 4)
// Elements of a slice each work-item loads: BM·BK / NT = TM for A, BK·BN / NT = TN for B.

// Loads this work-item's TM elements of the op(A) slice [m0.., k0..] into registers; store_a puts
// element l at local position (kk, r) computed by the same index arithmetic. `transA` is uniform over
// the launch, so the branch costs no divergence.
inline void load_a(float ra[TM], __global const float *A, const int M, const int K,
                   const int m0, const int k0, const int tid, const int transA) {
    if (transA) {
        // A stored [K, M]: consecutive work-items read consecutive m.
#pragma unroll
        for (int l = 0; l < TM; l++) {
            const int idx = tid + l * NT, gm = m0 + idx % BM, gk = k0 + idx / BM;
            ra[l] = (gm < M && gk < K) ? A[(long)gk * M + gm] : 0.0f;
        }
    } else {
        // A stored [M, K]: consecutive work-items read consecutive k.
#pragma unroll
        for (int l = 0; l < TM; l++) {
            const int idx = tid + l * NT, gm = m0 + idx / BK, gk = k0 + idx % BK;
            ra[l] = (gm < M && gk < K) ? A[(long)gm * K + gk] : 0.0f;
        }
    }
}

inline void store_a(__local float *As, const float ra[TM], const int tid, const int transA) {
#pragma unroll
    for (int l = 0; l < TM; l++) {
        const int idx = tid + l * NT;
        As[transA ? (idx / BM) * LDA + idx % BM : (idx % BK) * LDA + idx / BK] = ra[l];
    }
}

// Loads this work-item's TN elements of the op(B) slice [k0.., n0..].
inline void load_b(float rb[TN], __global const float *B, const int N, const int K,
                   const int n0, const int k0, const int tid, const int transB) {
    if (transB) {
        // B stored [N, K]: consecutive work-items read consecutive k.
#pragma unroll
        for (int l = 0; l < TN; l++) {
            const int idx = tid + l * NT, gn = n0 + idx / BK, gk = k0 + idx % BK;
            rb[l] = (gn < N && gk < K) ? B[(long)gn * K + gk] : 0.0f;
        }
    } else {
        // B stored [K, N]: consecutive work-items read consecutive n.
#pragma unroll
        for (int l = 0; l < TN; l++) {
            const int idx = tid + l * NT, gn = n0 + idx % BN, gk = k0 + idx / BN;
            rb[l] = (gn < N && gk < K) ? B[(long)gk * N + gn] : 0.0f;
        }
    }
}

inline void store_b(__local float *Bs, const float rb[TN], const int tid, const int transB) {
#pragma unroll
    for (int l = 0; l < TN; l++) {
        const int idx = tid + l * NT;
        Bs[transB ? (idx % BK) * LDB + idx / BK : (idx / BN) * LDB + idx % BN] = rb[l];
    }
}

__kernel __attribute__((reqd_work_group_size(WX, WY, 1)))
void gemm(const int M, const int N, const int K,
          __global const float *A, const int offA, const int strideA,
          __global const float *B, const int offB, const int strideB,
          __global float *C, const int offC, const int strideC,
          const int transA, const int transB, const float alpha, const float beta) {
    __local float4 As[BK * LDA / 4];   // [BK][LDA] floats
    __local float4 Bs[BK * LDB / 4];   // [BK][LDB] floats

    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WX + tx;
    const int n0 = get_group_id(0) * BN, m0 = get_group_id(1) * BM;
    const long item = get_global_id(2);
    A += offA + item * strideA;
    B += offB + item * strideB;
    C += offC + item * strideC;

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

    float ra[TM], rb[TN];
    load_a(ra, A, M, K, m0, 0, tid, transA);
    load_b(rb, B, N, K, n0, 0, tid, transB);
    for (int k0 = 0; k0 < K; k0 += BK) {
        store_a((__local float *)As, ra, tid, transA);
        store_b((__local float *)Bs, rb, tid, transB);
        barrier(CLK_LOCAL_MEM_FENCE);
        // Prefetch the next slice; its loads are in flight during the multiply below.
        if (k0 + BK < K) {
            load_a(ra, A, M, K, m0, k0 + BK, tid, transA);
            load_b(rb, B, N, K, n0, k0 + BK, tid, transB);
        }
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
        barrier(CLK_LOCAL_MEM_FENCE);
    }

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
}

// k == 0: the product is empty, C = beta·C (zero when beta == 0, whatever C held). Global [M·N, batch].
__kernel void gemm_scale(const int count, __global float *C, const int offC, const int strideC, const float beta) {
    const int i = get_global_id(0);
    if (i >= count) return;
    __global float *c = C + offC + (long)get_global_id(1) * strideC + i;
    *c = beta == 0.0f ? 0.0f : beta * *c;
}
