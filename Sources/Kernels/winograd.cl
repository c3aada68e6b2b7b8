// winograd: 3x3, stride-1, padding-1 convolutions (groups 1) by Winograd's minimal filtering F(m x m, 3x3)
// (Lavin & Gray 2016), built for m = WINO_M = 2 (the default) or 4 (-D WINO_M=4), with α = m + 2: each m x m block of
// outputs of channel o is
//     Y = Aᵀ [ Σ_c (G g[o,c] Gᵀ) ⊙ (Bᵀ d[c] B) ] A
// with d[c] the α x α input patch at rows m·ti − 1 … m·ti + m (zeros outside, the padding) and g[o,c] the 3x3 filter.
//   F(2x2, 3x3): Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//                Aᵀ = [1 1 1 0; 0 1 −1 −1].
//   F(4x4, 3x3) (interpolation points 0, ±1, ±2, ∞):
//                Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
//                G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1],
//                Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
// The sum over c is, for each of the α² positions ξ of the transform, a GEMM M[ξ] = U[ξ]·V[ξ] (the host runs gemm.cl
// batched over ξ): α²·O·C·P multiply-adds for P = N·⌈H/m⌉·⌈W/m⌉ tiles instead of the direct 9·O·C·N·H·W, 2.25x
// fewer for m = 2 and 4x for m = 4. The kernels here are the transforms around that GEMM (OpenCLBackend+Winograd.swift):
//   wino_filter       U[ξ][o][c] = (G g Gᵀ)[ξ]; with flip, U[ξ][c][o] of the 180°-rotated filter (grad-input is
//                     the same convolution of dy with w[o,c] rotated and the channel roles swapped).
//   wino_input        V[ξ][c][p] = (Bᵀ d B)[ξ], d scaled by scale[n, c] when given (scaledConv2d's inScale).
//   wino_output       y = Aᵀ M A, times scale[n, o] (outScale), then the optional bias_act epilogue.
//   wino_grad_output  dM[ξ][o][p] = (A dY Aᵀ)[ξ] of an m x m block of dy (times scale[n, o]): the adjoint of wino_output.
//   wino_filter_grad  dw = Gᵀ (Σ_s dU_s) G: the adjoint of wino_filter, after the grad-weight GEMM
//                     dU[ξ] = dM[ξ]·V[ξ]ᵀ, whose reduction over P the host may split into `splits` chunks.
// Tile layout: column p = (n·tilesH + ti)·tilesW + tj; V and dM are stored [ξ][s][channel][chunk] with p = s·chunk + q
// (q < chunk, one split: chunk ≥ P) and zeros for p ≥ P, so the GEMM sees contiguous [channel × chunk] matrices
// (chunk a multiple of 4 keeps its float4 loads). Bounds: every global index is checked; any H, W ≥ 1.
//
// Each matrix is one macro, `WINO_G(X, Y, I)` etc.: I(Y, k) = Σ_i G[k][i]·I(X, i) for tiles X and Y, with I the accessor
// of a column (COL) or a row (ROW); `WINO_2D` applies one to a tile's columns and then its rows, so each formula is
// written once and serves both passes.

#ifndef WINO_M
#define WINO_M 2
#endif
#define WA (WINO_M + 2)   // α, the transform's side

#if WINO_M == 2
#define WINO_G(X, Y, I) {                                                                                   \
    I(Y, 0) = I(X, 0); I(Y, 1) = 0.5f * (I(X, 0) + I(X, 1) + I(X, 2));                                      \
    I(Y, 2) = 0.5f * (I(X, 0) - I(X, 1) + I(X, 2)); I(Y, 3) = I(X, 2); }
#define WINO_BT(X, Y, I) {                                                                                  \
    I(Y, 0) = I(X, 0) - I(X, 2); I(Y, 1) = I(X, 1) + I(X, 2);                                               \
    I(Y, 2) = I(X, 2) - I(X, 1); I(Y, 3) = I(X, 1) - I(X, 3); }
#define WINO_AT(X, Y, I) { I(Y, 0) = I(X, 0) + I(X, 1) + I(X, 2); I(Y, 1) = I(X, 1) - I(X, 2) - I(X, 3); }
#define WINO_A(X, Y, I) {                                                                                   \
    I(Y, 0) = I(X, 0); I(Y, 1) = I(X, 0) + I(X, 1); I(Y, 2) = I(X, 0) - I(X, 1); I(Y, 3) = -I(X, 1); }
#define WINO_GT(X, Y, I) {                                                                                  \
    I(Y, 0) = I(X, 0) + 0.5f * (I(X, 1) + I(X, 2)); I(Y, 1) = 0.5f * (I(X, 1) - I(X, 2));                    \
    I(Y, 2) = 0.5f * (I(X, 1) + I(X, 2)) + I(X, 3); }
#elif WINO_M == 4
#define WINO_G(X, Y, I) {                                                                                   \
    I(Y, 0) = 0.25f * I(X, 0);                                                                              \
    I(Y, 1) = (I(X, 0) + I(X, 1) + I(X, 2)) * (-1.0f / 6.0f);                                               \
    I(Y, 2) = (I(X, 0) - I(X, 1) + I(X, 2)) * (-1.0f / 6.0f);                                               \
    I(Y, 3) = (0.25f * I(X, 0) + 0.5f * I(X, 1) + I(X, 2)) * (1.0f / 6.0f);                                 \
    I(Y, 4) = (0.25f * I(X, 0) - 0.5f * I(X, 1) + I(X, 2)) * (1.0f / 6.0f);                                 \
    I(Y, 5) = I(X, 2); }
#define WINO_BT(X, Y, I) {                                                                                  \
    I(Y, 0) = 4.0f * I(X, 0) - 5.0f * I(X, 2) + I(X, 4);                                                    \
    I(Y, 1) = I(X, 3) + I(X, 4) - 4.0f * (I(X, 1) + I(X, 2));                                               \
    I(Y, 2) = 4.0f * (I(X, 1) - I(X, 2)) + I(X, 4) - I(X, 3);                                               \
    I(Y, 3) = 2.0f * (I(X, 3) - I(X, 1)) + I(X, 4) - I(X, 2);                                               \
    I(Y, 4) = 2.0f * (I(X, 1) - I(X, 3)) + I(X, 4) - I(X, 2);                                               \
    I(Y, 5) = 4.0f * I(X, 1) - 5.0f * I(X, 3) + I(X, 5); }
#define WINO_AT(X, Y, I) {                                                                                  \
    I(Y, 0) = I(X, 0) + (I(X, 1) + I(X, 2)) + (I(X, 3) + I(X, 4));                                          \
    I(Y, 1) = (I(X, 1) - I(X, 2)) + 2.0f * (I(X, 3) - I(X, 4));                                             \
    I(Y, 2) = (I(X, 1) + I(X, 2)) + 4.0f * (I(X, 3) + I(X, 4));                                             \
    I(Y, 3) = (I(X, 1) - I(X, 2)) + 8.0f * (I(X, 3) - I(X, 4)) + I(X, 5); }
#define WINO_A(X, Y, I) {                                                                                   \
    I(Y, 0) = I(X, 0);                                                                                      \
    I(Y, 1) = (I(X, 0) + I(X, 2)) + (I(X, 1) + I(X, 3));                                                    \
    I(Y, 2) = (I(X, 0) + I(X, 2)) - (I(X, 1) + I(X, 3));                                                    \
    I(Y, 3) = (I(X, 0) + 4.0f * I(X, 2)) + 2.0f * (I(X, 1) + 4.0f * I(X, 3));                               \
    I(Y, 4) = (I(X, 0) + 4.0f * I(X, 2)) - 2.0f * (I(X, 1) + 4.0f * I(X, 3));                               \
    I(Y, 5) = I(X, 3); }
#define WINO_GT(X, Y, I) {                                                                                  \
    I(Y, 0) = 0.25f * I(X, 0) - (I(X, 1) + I(X, 2)) * (1.0f / 6.0f) + (I(X, 3) + I(X, 4)) * (1.0f / 24.0f); \
    I(Y, 1) = (I(X, 2) - I(X, 1)) * (1.0f / 6.0f) + (I(X, 3) - I(X, 4)) * (1.0f / 12.0f);                   \
    I(Y, 2) = (I(X, 3) + I(X, 4) - I(X, 1) - I(X, 2)) * (1.0f / 6.0f) + I(X, 5); }
#else
#error "WINO_M must be 2 or 4"
#endif

// Accessors for the macros above: element k of column j (COL) or of row i (ROW) of tile a.
#define COL(a, k) a[k][j]
#define ROW(a, k) a[i][k]
// OUT = MAT·IN·MATᵀ: MAT applied to each of IN's COLS columns (into MID), then to each of MID's ROWS rows (into OUT).
#define WINO_2D(MAT, IN, MID, OUT, COLS, ROWS) {                                                           \
    _Pragma("unroll") for (int j = 0; j < (COLS); j++) MAT(IN, MID, COL)                                   \
    _Pragma("unroll") for (int i = 0; i < (ROWS); i++) MAT(MID, OUT, ROW) }

__kernel void wino_filter(__global const float *w, __global float *U, const int O, const int C, const int flip) {
    const int gid = get_global_id(0);
    if (gid >= O * C) return;
    const int o = gid / C, c = gid % C;
    __global const float *src = w + (long)gid * 9;
    float g[3][3];
#pragma unroll
    for (int i = 0; i < 3; i++)
#pragma unroll
        for (int j = 0; j < 3; j++) g[i][j] = flip ? src[(2 - i) * 3 + (2 - j)] : src[i * 3 + j];
    float t[WA][3], u[WA][WA];   // G g, then (G g) Gᵀ
    WINO_2D(WINO_G, g, t, u, 3, WA)
    const long plane = (long)O * C, at = flip ? (long)c * O + o : (long)o * C + c;
#pragma unroll
    for (int i = 0; i < WA; i++)
#pragma unroll
        for (int j = 0; j < WA; j++) U[(WA * i + j) * plane + at] = u[i][j];
}

// Global [splits·chunk, channels]: one α x α patch of channel c per work-item.
__kernel void wino_input(__global const float *x, __global float *V, const int N, const int C, const int H, const int W,
                         const int tilesH, const int tilesW, const int splits, const int chunk,
                         __global const float *scale, const int hasScale) {
    const int p = get_global_id(0), c = get_global_id(1);
    if (p >= splits * chunk || c >= C) return;
    const int s = p / chunk, q = p % chunk, tiles = tilesH * tilesW;
    float d[WA][WA];
    if (p < N * tiles) {
        const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW;
        __global const float *plane = x + ((long)n * C + c) * H * W;
        const float k = hasScale ? scale[n * C + c] : 1.0f;
#pragma unroll
        for (int i = 0; i < WA; i++) {
            const int h = WINO_M * ti - 1 + i;
#pragma unroll
            for (int j = 0; j < WA; j++) {
                const int v = WINO_M * tj - 1 + j;
                d[i][j] = (h >= 0 && h < H && v >= 0 && v < W) ? plane[h * W + v] * k : 0.0f;
            }
        }
    } else {
#pragma unroll
        for (int i = 0; i < WA; i++)
#pragma unroll
            for (int j = 0; j < WA; j++) d[i][j] = 0.0f;
    }
    float t[WA][WA], r[WA][WA];   // Bᵀ d, then (Bᵀ d) B
    WINO_2D(WINO_BT, d, t, r, WA, WA)
    const long plane = (long)splits * C * chunk, at = ((long)s * C + c) * chunk + q;
#pragma unroll
    for (int i = 0; i < WA; i++)
#pragma unroll
        for (int j = 0; j < WA; j++) V[(WA * i + j) * plane + at] = r[i][j];
}

// Global [P, O]: the m x m outputs of tile p, channel o, from M [ξ][O][ldm]. Epilogue (epilogue != 0): bias_act of
// the stored value, y = clamp(act(v + bias[o])·gain, ±clamp), as conv2d.cl's EPILOGUE.
__kernel void wino_output(__global const float *M, __global float *y, const int N, const int O, const int H, const int W,
                          const int tilesH, const int tilesW, const int ldm, __global const float *scale, const int hasScale,
                          const int epilogue, __global const float *bias, const int hasBias, const int leaky,
                          const float alpha, const float gain, const float clampv) {
    const int p = get_global_id(0), o = get_global_id(1), tiles = tilesH * tilesW;
    if (p >= N * tiles || o >= O) return;
    const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW;
    const long plane = (long)O * ldm, at = (long)o * ldm + p;
    float m[WA][WA];
#pragma unroll
    for (int i = 0; i < WA; i++)
#pragma unroll
        for (int j = 0; j < WA; j++) m[i][j] = M[(WA * i + j) * plane + at];
    float t[WINO_M][WA], r[WINO_M][WINO_M];   // Aᵀ m, then (Aᵀ m) A
    WINO_2D(WINO_AT, m, t, r, WA, WINO_M)
    const float k = hasScale ? scale[n * O + o] : 1.0f, b = (epilogue && hasBias) ? bias[o] : 0.0f;
    __global float *out = y + ((long)n * O + o) * H * W;
#pragma unroll
    for (int i = 0; i < WINO_M; i++) {
        const int h = WINO_M * ti + i;
#pragma unroll
        for (int j = 0; j < WINO_M; j++) {
            const int v = WINO_M * tj + j;
            if (h < H && v < W) {
                float value = r[i][j] * k;
                if (epilogue) value = act_gain_clamp(value + b, leaky, alpha, gain, clampv);
                out[h * W + v] = value;
            }
        }
    }
}

// Global [splits·chunk, O]: dM = A dY Aᵀ of the m x m block of dy (zeros outside) of tile p, channel o.
__kernel void wino_grad_output(__global const float *dy, __global float *dM, const int N, const int O, const int H, const int W,
                               const int tilesH, const int tilesW, const int splits, const int chunk,
                               __global const float *scale, const int hasScale) {
    const int p = get_global_id(0), o = get_global_id(1);
    if (p >= splits * chunk || o >= O) return;
    const int s = p / chunk, q = p % chunk, tiles = tilesH * tilesW;
    float e[WINO_M][WINO_M];
#pragma unroll
    for (int i = 0; i < WINO_M; i++)
#pragma unroll
        for (int j = 0; j < WINO_M; j++) e[i][j] = 0.0f;
    if (p < N * tiles) {
        const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW;
        __global const float *plane = dy + ((long)n * O + o) * H * W;
        const float k = hasScale ? scale[n * O + o] : 1.0f;
#pragma unroll
        for (int i = 0; i < WINO_M; i++)
#pragma unroll
            for (int j = 0; j < WINO_M; j++) {
                const int h = WINO_M * ti + i, v = WINO_M * tj + j;
                e[i][j] = (h < H && v < W) ? plane[h * W + v] * k : 0.0f;
            }
    }
    float t[WA][WINO_M], r[WA][WA];   // A e, then (A e) Aᵀ
    WINO_2D(WINO_A, e, t, r, WINO_M, WA)
    const long plane = (long)splits * O * chunk, at = ((long)s * O + o) * chunk + q;
#pragma unroll
    for (int i = 0; i < WA; i++)
#pragma unroll
        for (int j = 0; j < WA; j++) dM[(WA * i + j) * plane + at] = r[i][j];
}

// Global [O·C]: dw[o, c] = Gᵀ (Σ_s dU[ξ][s][o][c]) G, the splits summed in order.
__kernel void wino_filter_grad(__global const float *dU, __global float *dw, const int O, const int C, const int splits) {
    const int gid = get_global_id(0);
    if (gid >= O * C) return;
    const long plane = (long)O * C;
    float u[WA][WA];
#pragma unroll
    for (int x = 0; x < WA * WA; x++) {
        float sum = 0.0f;
        for (int s = 0; s < splits; s++) sum += dU[((long)x * splits + s) * plane + gid];
        u[x / WA][x % WA] = sum;
    }
    float t[3][WA], r[3][3];   // Gᵀ u, then (Gᵀ u) G
    WINO_2D(WINO_GT, u, t, r, WA, 3)
    __global float *out = dw + (long)gid * 9;
#pragma unroll
    for (int i = 0; i < 3; i++)
#pragma unroll
        for (int j = 0; j < 3; j++) out[i * 3 + j] = r[i][j];
}
