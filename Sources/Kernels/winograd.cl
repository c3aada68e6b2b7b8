// winograd: convolutions by Winograd's minimal filtering (Lavin & Gray 2016), in two families:
// - 3x3, stride-1, padding-1 convolutions (groups 1) by F(m x m, 3x3), built for m = WINO_M = 2 (the default) or 4
//   (-D WINO_M=4);
// - 3x3, stride-2 convolutions (any padding, groups 1) by their four stride phases (-D WINO_M=4 -D WINO_R=2, "phased"):
//   with x̃[(c, ry, rx)][u][v] = x[c][2u + ry − padH][2v + rx − padW] (the space-to-depth of x, 4C channels at half the
//   resolution, zeros outside) and w̃[o][(c, ry, rx)][a][b] = w[o][c][2a + ry][2b + rx] (zero where 2a + ry or 2b + rx
//   is 3), y[o][i][j] = Σ_c' Σ_{a,b ∈ {0,1}} w̃[o][c'][a][b]·x̃[c'][i + a][j + b]: a stride-1 2x2 convolution, computed
//   by F(4x4, 2x2) (6.25·C multiply-adds per output instead of 9·C). Its input gradient is the 2x2 convolution of dy
//   (padding 1) with each phase's filter rotated, into dx̃, which the output transform writes back to dx's pixels; its
//   weight gradient is the 2x2 one, whose taps the filter gradient writes back to the 3x3 filter.
// With α = m + r − 1 for an r x r filter, each m x m block of outputs of channel o is
//     Y = Aᵀ [ Σ_c (G g[o,c] Gᵀ) ⊙ (Bᵀ d[c] B) ] A
// with d[c] the α x α input patch at rows m·ti − pad … (zeros outside) and g[o,c] the r x r filter.
//   F(2x2, 3x3): Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//                Aᵀ = [1 1 1 0; 0 1 −1 −1].
//   F(4x4, 3x3) (interpolation points 0, ±1, ±2, ∞):
//                Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
//                G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1],
//                Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
//   F(4x4, 2x2) (interpolation points 0, ±1, 2, ∞):
//                Bᵀ = [2 −1 −2 1 0; 0 −2 −1 1 0; 0 2 −3 1 0; 0 −1 0 1 0; 0 2 −1 −2 1],
//                G = [½ 0; −½ −½; −⅙ ⅙; ⅙ ⅓; 0 1],  Aᵀ = [1 1 1 1 0; 0 1 −1 2 0; 0 1 1 4 0; 0 1 −1 8 1].
// The sum over c is, for each of the α² positions ξ of the transform, a GEMM M[ξ] = U[ξ]·V[ξ] (the host runs gemm.cl
// batched over ξ): α²·O·C·P multiply-adds for P = N·⌈H/m⌉·⌈W/m⌉ tiles instead of the direct 9·O·C·N·H·W, 2.25x
// fewer for m = 2 and 4x for m = 4 (stride 2: 25·O·4C·P for P = N·⌈Ho/4⌉·⌈Wo/4⌉ against 9·O·C·N·Ho·Wo, 1.44x).
// The kernels here are the transforms around that GEMM (OpenCLBackend+Winograd.swift):
//   wino_filter       U[ξ][o][c] = (G g Gᵀ)[ξ]; with flip, U[ξ][c][o] of the 180°-rotated filter (grad-input is
//                     the same convolution of dy with w[o,c] rotated and the channel roles swapped). Phased: of w̃,
//                     c indexing the 4C channels (c, ry, rx) and each phase's 2x2 filter rotated by flip.
//   wino_input        V[ξ][c][p] = (Bᵀ d B)[ξ], d scaled by scale[n, c] when given (scaledConv2d's inScale); phased,
//                     d is a patch of x̃ (c the 4C channels; scale[n, c / 4]).
//   wino_output       y = Aᵀ M A, times scale[n, o] (outScale), then the optional bias_act epilogue; phased, M's 4O rows
//                     are the channels of dx̃ and the outputs go to dx's pixels (grad-input; no epilogue).
//   wino_grad_output  dM[ξ][o][p] = (A dY Aᵀ)[ξ] of an m x m block of dy (times scale[n, o]): the adjoint of wino_output.
//   wino_filter_grad  dw = Gᵀ (Σ_s dU_s) G: the adjoint of wino_filter, after the grad-weight GEMM
//                     dU[ξ] = dM[ξ]·V[ξ]ᵀ, whose reduction over P the host may split into `splits` chunks; phased, the
//                     taps of w̃'s gradient go back to the 3x3 filter's.
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
#ifndef WINO_R
#define WINO_R 3
#endif
#define WA (WINO_M + WINO_R - 1)   // α, the transform's side
#define PHASES (WINO_R == 2 ? 4 : 1)   // channels of the transforms per channel of x: the stride phases (ry, rx)

#if WINO_R == 3 && WINO_M == 2
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
#elif WINO_R == 3 && WINO_M == 4
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
#elif WINO_R == 2 && WINO_M == 4
#define WINO_G(X, Y, I) {                                                                                   \
    I(Y, 0) = 0.5f * I(X, 0); I(Y, 1) = -0.5f * (I(X, 0) + I(X, 1));                                        \
    I(Y, 2) = (I(X, 1) - I(X, 0)) * (1.0f / 6.0f); I(Y, 3) = (I(X, 0) + 2.0f * I(X, 1)) * (1.0f / 6.0f);    \
    I(Y, 4) = I(X, 1); }
#define WINO_BT(X, Y, I) {                                                                                  \
    I(Y, 0) = 2.0f * (I(X, 0) - I(X, 2)) + I(X, 3) - I(X, 1);                                               \
    I(Y, 1) = I(X, 3) - 2.0f * I(X, 1) - I(X, 2);                                                           \
    I(Y, 2) = 2.0f * I(X, 1) - 3.0f * I(X, 2) + I(X, 3);                                                    \
    I(Y, 3) = I(X, 3) - I(X, 1);                                                                            \
    I(Y, 4) = 2.0f * (I(X, 1) - I(X, 3)) - I(X, 2) + I(X, 4); }
#define WINO_AT(X, Y, I) {                                                                                  \
    I(Y, 0) = I(X, 0) + (I(X, 1) + I(X, 2)) + I(X, 3);                                                      \
    I(Y, 1) = (I(X, 1) - I(X, 2)) + 2.0f * I(X, 3);                                                         \
    I(Y, 2) = (I(X, 1) + I(X, 2)) + 4.0f * I(X, 3);                                                         \
    I(Y, 3) = (I(X, 1) - I(X, 2)) + 8.0f * I(X, 3) + I(X, 4); }
#define WINO_A(X, Y, I) {                                                                                   \
    I(Y, 0) = I(X, 0);                                                                                      \
    I(Y, 1) = (I(X, 0) + I(X, 2)) + (I(X, 1) + I(X, 3));                                                    \
    I(Y, 2) = (I(X, 0) + I(X, 2)) - (I(X, 1) + I(X, 3));                                                    \
    I(Y, 3) = I(X, 0) + 2.0f * I(X, 1) + 4.0f * I(X, 2) + 8.0f * I(X, 3);                                   \
    I(Y, 4) = I(X, 3); }
#define WINO_GT(X, Y, I) {                                                                                  \
    I(Y, 0) = 0.5f * (I(X, 0) - I(X, 1)) + (I(X, 3) - I(X, 2)) * (1.0f / 6.0f);                             \
    I(Y, 1) = I(X, 4) - 0.5f * I(X, 1) + I(X, 2) * (1.0f / 6.0f) + I(X, 3) * (1.0f / 3.0f); }
#else
#error "winograd.cl is built for F(2x2, 3x3), F(4x4, 3x3) and F(4x4, 2x2)"
#endif

// Accessors for the macros above: element k of column j (COL) or of row i (ROW) of tile a.
#define COL(a, k) a[k][j]
#define ROW(a, k) a[i][k]
// OUT = MAT·IN·MATᵀ: MAT applied to each of IN's COLS columns (into MID), then to each of MID's ROWS rows (into OUT).
#define WINO_2D(MAT, IN, MID, OUT, COLS, ROWS) {                                                           \
    _Pragma("unroll") for (int j = 0; j < (COLS); j++) MAT(IN, MID, COL)                                   \
    _Pragma("unroll") for (int i = 0; i < (ROWS); i++) MAT(MID, OUT, ROW) }

// Global [O·C·PHASES]: the transformed filter of (o, c); phased, c is (c, ry, rx) of w̃.
__kernel void wino_filter(__global const float *w, __global float *U, const int O, const int C, const int flip) {
    const int CK = C * PHASES, gid = get_global_id(0);
    if (gid >= O * CK) return;
    const int o = gid / CK, c = gid % CK;
    float g[WINO_R][WINO_R];
#if WINO_R == 2
    // w̃'s phase (ry, rx) of w[o][c / 4], each 2x2 filter rotated with flip; taps 2a + ry = 3 are zeros.
    const int ry = (c / 2) % 2, rx = c % 2;
    __global const float *src = w + ((long)o * C + c / 4) * 9;
#pragma unroll
    for (int a = 0; a < 2; a++)
#pragma unroll
        for (int b = 0; b < 2; b++) {
            const int i = 2 * (flip ? 1 - a : a) + ry, j = 2 * (flip ? 1 - b : b) + rx;
            g[a][b] = (i < 3 && j < 3) ? src[i * 3 + j] : 0.0f;
        }
#else
    __global const float *src = w + (long)gid * 9;
#pragma unroll
    for (int i = 0; i < 3; i++)
#pragma unroll
        for (int j = 0; j < 3; j++) g[i][j] = flip ? src[(2 - i) * 3 + (2 - j)] : src[i * 3 + j];
#endif
    float t[WA][WINO_R], u[WA][WA];   // G g, then (G g) Gᵀ
    WINO_2D(WINO_G, g, t, u, WINO_R, WA)
    const long plane = (long)O * CK, at = flip ? (long)c * O + o : (long)o * CK + c;
#pragma unroll
    for (int i = 0; i < WA; i++)
#pragma unroll
        for (int j = 0; j < WA; j++) U[(WA * i + j) * plane + at] = u[i][j];
}

// Global [splits·chunk, C·(phased ? 4 : 1)]: one α x α patch per work-item, of x [N, C, H, W] at rows m·ti − padH + i
// and columns m·tj − padW + j, or phased of x̃ (channel (c, ry, rx): x's rows 2(m·ti + i) + ry − padH, its columns
// 2(m·tj + j) + rx − padW).
__kernel void wino_input(__global const float *x, __global float *V, const int N, const int C, const int H, const int W,
                         const int tilesH, const int tilesW, const int splits, const int chunk,
                         __global const float *scale, const int hasScale, const int padH, const int padW, const int phased) {
    const int CK = phased ? 4 * C : C, p = get_global_id(0), ck = get_global_id(1);
    if (p >= splits * chunk || ck >= CK) return;
    const int s = p / chunk, q = p % chunk, tiles = tilesH * tilesW;
    const int c = phased ? ck / 4 : ck, step = phased ? 2 : 1;
    float d[WA][WA];
    if (p < N * tiles) {
        const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW;
        __global const float *plane = x + ((long)n * C + c) * H * W;
        const float k = hasScale ? scale[n * C + c] : 1.0f;
        const int h0 = step * WINO_M * ti + (phased ? (ck / 2) % 2 : 0) - padH;
        const int v0 = step * WINO_M * tj + (phased ? ck % 2 : 0) - padW;
#pragma unroll
        for (int i = 0; i < WA; i++) {
            const int h = h0 + step * i;
#pragma unroll
            for (int j = 0; j < WA; j++) {
                const int v = v0 + step * j;
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
    const long plane = (long)splits * CK * chunk, at = ((long)s * CK + ck) * chunk + q;
#pragma unroll
    for (int i = 0; i < WA; i++)
#pragma unroll
        for (int j = 0; j < WA; j++) V[(WA * i + j) * plane + at] = r[i][j];
}

// Global [P, O·(phased ? 4 : 1)]: the m x m outputs of tile p, row o of M [ξ][rows][ldm], into y [N, O, H, W] at
// (m·ti + i, m·tj + j), or phased (row (o, ry, rx) of dx̃) at (2(m·ti + i) + ry − padH, 2(m·tj + j) + rx − padW); those
// outside y are dropped. Epilogue (epilogue != 0): bias_act of the stored value, y = clamp(act(v + bias[o])·gain, ±clamp),
// as conv2d.cl's EPILOGUE.
__kernel void wino_output(__global const float *M, __global float *y, const int N, const int O, const int H, const int W,
                          const int tilesH, const int tilesW, const int ldm, __global const float *scale, const int hasScale,
                          const int epilogue, __global const float *bias, const int hasBias, const int leaky,
                          const float alpha, const float gain, const float clampv, const int padH, const int padW,
                          const int phased) {
    const int rows = phased ? 4 * O : O, p = get_global_id(0), row = get_global_id(1), tiles = tilesH * tilesW;
    if (p >= N * tiles || row >= rows) return;
    const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW, o = phased ? row / 4 : row;
    const long plane = (long)rows * ldm, at = (long)row * ldm + p;
    float m[WA][WA];
#pragma unroll
    for (int i = 0; i < WA; i++)
#pragma unroll
        for (int j = 0; j < WA; j++) m[i][j] = M[(WA * i + j) * plane + at];
    float t[WINO_M][WA], r[WINO_M][WINO_M];   // Aᵀ m, then (Aᵀ m) A
    WINO_2D(WINO_AT, m, t, r, WA, WINO_M)
    const float k = hasScale ? scale[n * O + o] : 1.0f, b = (epilogue && hasBias) ? bias[o] : 0.0f;
    __global float *out = y + ((long)n * O + o) * H * W;
    const int step = phased ? 2 : 1;
    const int h0 = step * WINO_M * ti + (phased ? (row / 2) % 2 - padH : 0);
    const int v0 = step * WINO_M * tj + (phased ? row % 2 - padW : 0);
#pragma unroll
    for (int i = 0; i < WINO_M; i++) {
        const int h = h0 + step * i;
#pragma unroll
        for (int j = 0; j < WINO_M; j++) {
            const int v = v0 + step * j;
            if (h >= 0 && h < H && v >= 0 && v < W) {
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

// Global [O·C·PHASES]: dw[o, c] = Gᵀ (Σ_s dU[ξ][s][o][c]) G, the splits summed in order; phased, c is (c, ry, rx) of w̃
// and its taps (a, b) go to dw[o][c / 4][2a + ry][2b + rx] (those at 3 are dropped: w̃ is zero there).
__kernel void wino_filter_grad(__global const float *dU, __global float *dw, const int O, const int C, const int splits) {
    const int CK = C * PHASES, gid = get_global_id(0);
    if (gid >= O * CK) return;
    const long plane = (long)O * CK;
    float u[WA][WA];
#pragma unroll
    for (int x = 0; x < WA * WA; x++) {
        float sum = 0.0f;
        for (int s = 0; s < splits; s++) sum += dU[((long)x * splits + s) * plane + gid];
        u[x / WA][x % WA] = sum;
    }
    float t[WINO_R][WA], r[WINO_R][WINO_R];   // Gᵀ u, then (Gᵀ u) G
    WINO_2D(WINO_GT, u, t, r, WA, WINO_R)
#if WINO_R == 2
    const int o = gid / CK, c = gid % CK, ry = (c / 2) % 2, rx = c % 2;
    __global float *out = dw + ((long)o * C + c / 4) * 9;
#pragma unroll
    for (int a = 0; a < 2; a++)
#pragma unroll
        for (int b = 0; b < 2; b++)
            if (2 * a + ry < 3 && 2 * b + rx < 3) out[(2 * a + ry) * 3 + 2 * b + rx] = r[a][b];
#else
    __global float *out = dw + (long)gid * 9;
#pragma unroll
    for (int i = 0; i < 3; i++)
#pragma unroll
        for (int j = 0; j < 3; j++) out[i * 3 + j] = r[i][j];
#endif
}
