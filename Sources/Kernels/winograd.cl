// winograd: 3x3, stride-1, padding-1 convolutions (groups 1) by Winograd's minimal filtering F(2x2, 3x3)
// (Lavin & Gray 2016): each 2x2 block of outputs of channel o is
//     Y = Aᵀ [ Σ_c (G g[o,c] Gᵀ) ⊙ (Bᵀ d[c] B) ] A
// with d[c] the 4x4 input patch at rows 2ti − 1 … 2ti + 2 (zeros outside, the padding) and g[o,c] the 3x3 filter:
//     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1].
// The sum over c is, for each of the 16 positions ξ of the 4x4 transform, a GEMM M[ξ] = U[ξ]·V[ξ] (the host runs
// gemm.cl batched over ξ): 16·O·C·P multiply-adds for P = N·⌈H/2⌉·⌈W/2⌉ tiles instead of the direct 9·O·C·N·H·W,
// 2.25x fewer. The kernels here are the transforms around that GEMM (OpenCLBackend+Winograd.swift):
//   wino_filter       U[ξ][o][c] = (G g Gᵀ)[ξ]; with flip, U[ξ][c][o] of the 180°-rotated filter (grad-input is
//                     the same convolution of dy with w[o,c] rotated and the channel roles swapped).
//   wino_input        V[ξ][c][p] = (Bᵀ d B)[ξ], d scaled by scale[n, c] when given (scaledConv2d's inScale).
//   wino_output       y = Aᵀ M A, times scale[n, o] (outScale), then the optional bias_act epilogue.
//   wino_grad_output  dM[ξ][o][p] = (A dY Aᵀ)[ξ] of a 2x2 block of dy (times scale[n, o]): the adjoint of wino_output.
//   wino_filter_grad  dw = Gᵀ (Σ_s dU_s) G: the adjoint of wino_filter, after the grad-weight GEMM
//                     dU[ξ] = dM[ξ]·V[ξ]ᵀ, whose reduction over P the host may split into `splits` chunks.
// Tile layout: column p = (n·tilesH + ti)·tilesW + tj; V and dM are stored [ξ][s][channel][chunk] with p = s·chunk + q
// (q < chunk, one split: chunk ≥ P) and zeros for p ≥ P, so the GEMM sees contiguous [channel × chunk] matrices
// (chunk a multiple of 4 keeps its float4 loads). Bounds: every global index is checked; any H, W ≥ 1.

// The four combinations of Bᵀ applied to a column (or row) d0..d3.
#define BT(d0, d1, d2, d3, r0, r1, r2, r3) { r0 = (d0) - (d2); r1 = (d1) + (d2); r2 = (d2) - (d1); r3 = (d1) - (d3); }

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
    float t[4][3];   // G g
#pragma unroll
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[0][j];
        t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        t[3][j] = g[2][j];
    }
    const long plane = (long)O * C, at = flip ? (long)c * O + o : (long)o * C + c;
#pragma unroll
    for (int i = 0; i < 4; i++) {   // (G g) Gᵀ, row i
        const float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
#pragma unroll
        for (int j = 0; j < 4; j++) U[(4 * i + j) * plane + at] = u[j];
    }
}

// Global [splits·chunk, channels]: one 4x4 patch of channel c per work-item.
__kernel void wino_input(__global const float *x, __global float *V, const int N, const int C, const int H, const int W,
                         const int tilesH, const int tilesW, const int splits, const int chunk,
                         __global const float *scale, const int hasScale) {
    const int p = get_global_id(0), c = get_global_id(1);
    if (p >= splits * chunk || c >= C) return;
    const int s = p / chunk, q = p % chunk, tiles = tilesH * tilesW;
    float d[4][4];
    if (p < N * tiles) {
        const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW;
        __global const float *plane = x + ((long)n * C + c) * H * W;
        const float k = hasScale ? scale[n * C + c] : 1.0f;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int h = 2 * ti - 1 + i;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int v = 2 * tj - 1 + j;
                d[i][j] = (h >= 0 && h < H && v >= 0 && v < W) ? plane[h * W + v] * k : 0.0f;
            }
        }
    } else {
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) d[i][j] = 0.0f;
    }
    float t[4][4];   // Bᵀ d, then (Bᵀ d) B
#pragma unroll
    for (int j = 0; j < 4; j++) BT(d[0][j], d[1][j], d[2][j], d[3][j], t[0][j], t[1][j], t[2][j], t[3][j])
    const long plane = (long)splits * C * chunk, at = ((long)s * C + c) * chunk + q;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float r0, r1, r2, r3;
        BT(t[i][0], t[i][1], t[i][2], t[i][3], r0, r1, r2, r3)
        V[(4 * i + 0) * plane + at] = r0;
        V[(4 * i + 1) * plane + at] = r1;
        V[(4 * i + 2) * plane + at] = r2;
        V[(4 * i + 3) * plane + at] = r3;
    }
}

// Global [P, O]: the 2x2 outputs of tile p, channel o, from M [ξ][O][ldm]. Epilogue (epilogue != 0): bias_act of
// the stored value, y = clamp(act(v + bias[o])·gain, ±clamp), as conv2d.cl's EPILOGUE.
__kernel void wino_output(__global const float *M, __global float *y, const int N, const int O, const int H, const int W,
                          const int tilesH, const int tilesW, const int ldm, __global const float *scale, const int hasScale,
                          const int epilogue, __global const float *bias, const int hasBias, const int leaky,
                          const float alpha, const float gain, const float clampv) {
    const int p = get_global_id(0), o = get_global_id(1), tiles = tilesH * tilesW;
    if (p >= N * tiles || o >= O) return;
    const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW;
    const long plane = (long)O * ldm, at = (long)o * ldm + p;
    float m[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) m[i][j] = M[(4 * i + j) * plane + at];
    float t[2][4];   // Aᵀ m
#pragma unroll
    for (int j = 0; j < 4; j++) {
        t[0][j] = m[0][j] + m[1][j] + m[2][j];
        t[1][j] = m[1][j] - m[2][j] - m[3][j];
    }
    const float k = hasScale ? scale[n * O + o] : 1.0f, b = (epilogue && hasBias) ? bias[o] : 0.0f;
    __global float *out = y + ((long)n * O + o) * H * W;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        const int h = 2 * ti + i;
        float r[2] = {t[i][0] + t[i][1] + t[i][2], t[i][1] - t[i][2] - t[i][3]};   // (Aᵀ m) A
#pragma unroll
        for (int j = 0; j < 2; j++) {
            const int v = 2 * tj + j;
            if (h < H && v < W) {
                float value = r[j] * k;
                if (epilogue) value = act_gain_clamp(value + b, leaky, alpha, gain, clampv);
                out[h * W + v] = value;
            }
        }
    }
}

// Global [splits·chunk, O]: dM = A dY Aᵀ of the 2x2 block of dy (zeros outside) of tile p, channel o.
__kernel void wino_grad_output(__global const float *dy, __global float *dM, const int N, const int O, const int H, const int W,
                               const int tilesH, const int tilesW, const int splits, const int chunk,
                               __global const float *scale, const int hasScale) {
    const int p = get_global_id(0), o = get_global_id(1);
    if (p >= splits * chunk || o >= O) return;
    const int s = p / chunk, q = p % chunk, tiles = tilesH * tilesW;
    float e[2][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}};
    if (p < N * tiles) {
        const int n = p / tiles, ti = (p % tiles) / tilesW, tj = p % tilesW;
        __global const float *plane = dy + ((long)n * O + o) * H * W;
        const float k = hasScale ? scale[n * O + o] : 1.0f;
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
            for (int j = 0; j < 2; j++) {
                const int h = 2 * ti + i, v = 2 * tj + j;
                e[i][j] = (h < H && v < W) ? plane[h * W + v] * k : 0.0f;
            }
    }
    // A = [1 0; 1 1; 1 −1; 0 −1]: t = A e (4x2), then t Aᵀ (4x4).
    float t[4][2];
#pragma unroll
    for (int j = 0; j < 2; j++) {
        t[0][j] = e[0][j];
        t[1][j] = e[0][j] + e[1][j];
        t[2][j] = e[0][j] - e[1][j];
        t[3][j] = -e[1][j];
    }
    const long plane = (long)splits * O * chunk, at = ((long)s * O + o) * chunk + q;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        dM[(4 * i + 0) * plane + at] = t[i][0];
        dM[(4 * i + 1) * plane + at] = t[i][0] + t[i][1];
        dM[(4 * i + 2) * plane + at] = t[i][0] - t[i][1];
        dM[(4 * i + 3) * plane + at] = -t[i][1];
    }
}

// Global [O·C]: dw[o, c] = Gᵀ (Σ_s dU[ξ][s][o][c]) G, the splits summed in order.
__kernel void wino_filter_grad(__global const float *dU, __global float *dw, const int O, const int C, const int splits) {
    const int gid = get_global_id(0);
    if (gid >= O * C) return;
    const long plane = (long)O * C;
    float u[4][4];
#pragma unroll
    for (int x = 0; x < 16; x++) {
        float sum = 0.0f;
        for (int s = 0; s < splits; s++) sum += dU[((long)x * splits + s) * plane + gid];
        u[x / 4][x % 4] = sum;
    }
    // Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]: t = Gᵀ u (3x4), then t G (3x3).
    float t[3][4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
        t[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
        t[1][j] = 0.5f * (u[1][j] - u[2][j]);
        t[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
    }
    __global float *out = dw + (long)gid * 9;
#pragma unroll
    for (int i = 0; i < 3; i++) {
        out[i * 3 + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
        out[i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
        out[i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
    }
}
