// Soft RGB-uv histogram of HistoGAN (DESIGN.md section 6; `RGBuvHistBlock`), forward and backward.
// Swift side: Sources/Engine/OpenCL/OpenCLBackend+Histogram.swift, Ops/Histogram.swift.
// Build option: -D HIST_KERNEL=0 (inverse-quadratic), 1 (Gaussian) or 2 (threshold).
//
// geom (int8): s0 H, s1 W, s2 binned height, s3 binned width, s4 resize mode (0 none, 1 bilinear,
//              2 sampling), s5 bins, s6 binned pixels P, s7 batch N.
// samp (int8): s0/s1 row sampling (deficit, exponent), s2/s3 column sampling (see sample_index).
// Features [N, F, P]: 0 Iy, 1 + 2c u_c, 2 + 2c v_c, 7 (backward only) Iy·Σ_c Σ_i k(u_c−t_i)·Σ_j k(v_c−t_j).

#pragma OPENCL FP_CONTRACT OFF

#define EPS 1e-6f
#define TILE 64     // bins (forward) or pixels (backward) per tile side; 16x16 work-items, 4x4 each
#define KT 16       // pixels (forward) or bins (backward) per step of the shared dimension

#ifndef HIST_KERNEL
#define HIST_KERNEL 0
#endif

// Bin centre k of numpy.linspace(-3, 3, bins): (6k − 3(bins − 1)) / (bins − 1), correctly rounded to
// float with integer arithmetic (no fp64 needed; equal to NumPy's Double result rounded to float).
INLINE float bin_centre(const int k, const int bins) {
    if (bins == 1) return -3.0f;
    const long num = 6L * k - 3L * (bins - 1), den = bins - 1;
    if (num == 0) return 0.0f;
    const ulong x = (ulong)(num < 0 ? -num : num) << 40;
    const ulong q = x / (ulong)den;
    const ulong rem = x % (ulong)den;
    const int shift = 64 - (int)clz(q) - 24;
    ulong kept = q >> shift;
    const ulong rest = q & ((1UL << shift) - 1), mid = 1UL << (shift - 1);
    if (rest > mid || (rest == mid && (rem != 0 || (kept & 1)))) kept += 1;
    const float v = ldexp((float)kept, shift - 40);
    return num < 0 ? -v : v;
}

// Row k of `sampling`: floor(k · fl(size / bins)) exactly as NumPy computes it in Double. m = k·size/bins
// in integers; when k·size is a multiple of bins and the Double step was rounded down (deficit > 0),
// fl(m·(1 − δ)) falls to the double below m iff m·δ exceeds half the gap below m; then the index is m − 1.
INLINE int sample_index(const int k, const int size, const int bins, const int deficit, const int expo) {
    const long kh = (long)k * size;
    const int m = (int)(kh / bins);
    if (deficit == 0 || m == 0 || kh % bins != 0) return m;
    const int e = 31 - (int)clz(m);
    bool below;
    if (m == (1 << e)) {
        below = expo + 2 >= 0 ? ((long)deficit << (expo + 2)) > (long)size
                              : (long)deficit > ((long)size << (-expo - 2));
    } else {
        below = expo + 1 >= 0 ? (((long)m * deficit) << (expo + 1)) > ((long)size << e)
                              : (long)m * deficit > ((long)size << (e - 1 - expo));
    }
    return below ? m - 1 : m;
}

// PyTorch bilinear (align_corners=False) taps of output index o; `scale` = in/out computed on the host.
INLINE void linear_tap(const int o, const int in, const float scale, int *i0, int *i1, float *w0, float *w1) {
    const float src = fmax(scale * ((float)o + 0.5f) - 0.5f, 0.0f);
    const int a = min((int)floor(src), in - 1);
    const float l = fmin(fmax(src - (float)a, 0.0f), 1.0f);
    *i0 = a;
    *i1 = a + (a < in - 1 ? 1 : 0);
    *w0 = 1.0f - l;
    *w1 = l;
}

INLINE float clamp01(const float x) { return fmin(fmax(x, 0.0f), 1.0f); }

// Clamped value of channel plane `src` [H, W] at binned row r, column q.
INLINE float binned_value(__global const float *src, const int r, const int q, const int8 geom, const int8 samp,
                          const float scaleY, const float scaleX) {
    const int H = geom.s0, W = geom.s1;
    if (geom.s4 == 0) return clamp01(src[r * W + q]);
    if (geom.s4 == 2) {
        const int y = sample_index(r, H, geom.s5, samp.s0, samp.s1), x = sample_index(q, W, geom.s5, samp.s2, samp.s3);
        return clamp01(src[y * W + x]);
    }
    int y0, y1, x0, x1;
    float wy0, wy1, wx0, wx1;
    linear_tap(r, H, scaleY, &y0, &y1, &wy0, &wy1);
    linear_tap(q, W, scaleX, &x0, &x1, &wx0, &wx1);
    const float top = wx0 * clamp01(src[y0 * W + x0]) + wx1 * clamp01(src[y0 * W + x1]);
    const float bottom = wx0 * clamp01(src[y1 * W + x0]) + wx1 * clamp01(src[y1 * W + x1]);
    return wy0 * top + wy1 * bottom;
}

// The binned RGB pixel p of image n.
INLINE float3 binned_rgb(__global const float *image, const int n, const int p, const int8 geom, const int8 samp,
                         const float scaleY, const float scaleX) {
    const int plane = geom.s0 * geom.s1, r = p / geom.s3, q = p % geom.s3;
    __global const float *src = image + (long)n * 3 * plane;
    return (float3)(binned_value(src, r, q, geom, samp, scaleY, scaleX),
                    binned_value(src + plane, r, q, geom, samp, scaleY, scaleX),
                    binned_value(src + 2 * plane, r, q, geom, samp, scaleY, scaleX));
}

// k(d) for d = u − t.
INLINE float kern(const float d, const float invS2, const float halfWidth) {
#if HIST_KERNEL == 0
    return 1.0f / (1.0f + d * d * invS2);
#elif HIST_KERNEL == 1
    return exp(-(d * d * invS2));
#else
    return fabs(d) <= halfWidth ? 1.0f : 0.0f;
#endif
}

// dk/du at d = u − t (0 for the threshold kernel).
INLINE float kern_slope(const float d, const float k, const float invS2) {
#if HIST_KERNEL == 0
    return -2.0f * d * invS2 * k * k;
#elif HIST_KERNEL == 1
    return -2.0f * d * invS2 * k;
#else
    return 0.0f;
#endif
}

// Σ_i k(u − t_i) over the bin centres in local memory.
INLINE float kern_row_sum(const float u, __local const float *centres, const int bins, const float invS2,
                          const float halfWidth) {
    float s = 0.0f;
    for (int i = 0; i < bins; i++) s += kern(u - centres[i], invS2, halfWidth);
    return s;
}

// Fills centres[0 ..< count] with bin centres first, first + 1, ... (bins past the end get the last
// centre; their weights are masked by the callers) and waits for the whole work-group.
INLINE void load_centres(__local float *centres, const int first, const int count, const int bins) {
    const int lid = get_local_id(1) * get_local_size(0) + get_local_id(0);
    const int size = get_local_size(0) * get_local_size(1);
    for (int i = lid; i < count; i += size) centres[i] = bin_centre(min(first + i, bins - 1), bins);
    barrier(CLK_LOCAL_MEM_FENCE);
}

// One work-item per binned pixel (dim 0) of image n (dim 1): resample, then Iy and the (u, v) pairs.
// With `withMass` also feature 7, the pixel's contribution to the histogram total.
__kernel void hist_features(__global const float *image, __global float *features, const int8 geom, const int8 samp,
                            const float scaleY, const float scaleX, const float invS2, const float halfWidth,
                            const int withMass, __local float *centres) {
    const int p = get_global_id(0), n = get_global_id(1), P = geom.s6, bins = geom.s5;
    if (withMass) load_centres(centres, 0, bins, bins);
    if (p >= P || n >= geom.s7) return;
    const float3 x = binned_rgb(image, n, p, geom, samp, scaleY, scaleX);
    const float iy = sqrt(x.x * x.x + x.y * x.y + x.z * x.z + EPS);
    const float lr = log(x.x + EPS), lg = log(x.y + EPS), lb = log(x.z + EPS);
    const float uv[6] = {lr - lg, lr - lb, lg - lr, lg - lb, lb - lr, lb - lg};
    const int F = withMass ? 8 : 7;
    __global float *f = features + (long)n * F * P + p;
    f[0] = iy;
    for (int k = 0; k < 6; k++) f[(1 + k) * P] = uv[k];
    if (withMass) {
        float mass = 0.0f;
        for (int c = 0; c < 3; c++)
            mass += kern_row_sum(uv[2 * c], centres, bins, invS2, halfWidth)
                  * kern_row_sum(uv[2 * c + 1], centres, bins, invS2, halfWidth);
        f[7 * P] = iy * mass;
    }
}

// MARK: forward

// Partial histograms: work-group (tile of 64x64 bins, (n·3 + c)·chunks + chunk). Over its pixel chunk,
// G[i, j] += Σ_p (Iy_p·k(u_p − t_i))·k(v_p − t_j): a GEMM whose operands are built in local memory
// from each pixel's features, KT pixels at a time. dims: (16·tiles, 16, pairs·chunks), local (16, 16).
// part (int8): s0 chunks, s1 pixels per chunk (a multiple of KT), s2 tiles per side.
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void hist_forward(__global const float *features, __global float *partial, const int8 geom, const int8 part,
                  const float invS2, const float halfWidth) {
    __local float ci[TILE], cj[TILE];
    __local float as[KT][TILE], bs[KT][TILE];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    const int bins = geom.s5, P = geom.s6, chunks = part.s0, tiles = part.s2;
    const int tileI = get_group_id(0) / tiles, tileJ = get_group_id(0) % tiles;
    const int z = get_group_id(2), chunk = z % chunks, pair = z / chunks, n = pair / 3, c = pair % 3;
    if (tid < TILE) {
        ci[tid] = bin_centre(min(tileI * TILE + tid, bins - 1), bins);
        cj[tid] = bin_centre(min(tileJ * TILE + tid, bins - 1), bins);
    }
    __global const float *iy = features + (long)n * 7 * P, *u = iy + (1 + 2 * c) * P, *v = u + P;
    float acc[4][4];
    _Pragma("unroll") for (int r = 0; r < 4; r++) _Pragma("unroll") for (int s = 0; s < 4; s++) acc[r][s] = 0.0f;
    const int lo = chunk * part.s1, hi = min(P, lo + part.s1);
    const int q = tid / 16, b0 = tid % 16;
    for (int p0 = lo; p0 < hi; p0 += KT) {
        barrier(CLK_LOCAL_MEM_FENCE);
        const int px = p0 + q;
        const bool live = px < hi;
        const float fiy = live ? iy[px] : 0.0f, fu = live ? u[px] : 0.0f, fv = live ? v[px] : 0.0f;
        _Pragma("unroll") for (int r = 0; r < 4; r++) {
            const int b = b0 + 16 * r;
            as[q][b] = live && tileI * TILE + b < bins ? fiy * kern(fu - ci[b], invS2, halfWidth) : 0.0f;
            bs[q][b] = live && tileJ * TILE + b < bins ? kern(fv - cj[b], invS2, halfWidth) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < KT; k++) {
            float a[4], b[4];
            _Pragma("unroll") for (int r = 0; r < 4; r++) { a[r] = as[k][ty + 16 * r]; b[r] = bs[k][tx + 16 * r]; }
            _Pragma("unroll") for (int r = 0; r < 4; r++) _Pragma("unroll") for (int s = 0; s < 4; s++) acc[r][s] += a[r] * b[s];
        }
    }
    __global float *g = partial + (long)z * bins * bins;
    _Pragma("unroll") for (int r = 0; r < 4; r++) {
        const int i = tileI * TILE + ty + 16 * r;
        _Pragma("unroll") for (int s = 0; s < 4; s++) {
            const int j = tileJ * TILE + tx + 16 * s;
            if (i < bins && j < bins) g[i * bins + j] = acc[r][s];
        }
    }
}

// out[n, c, i, j] = Σ_chunk partial[(n·3 + c)·chunks + chunk, i, j]; one work-item per output element.
__kernel void hist_sum_chunks(__global const float *partial, __global float *out, const int count, const int chunks,
                              const int binsSquared) {
    const int e = get_global_id(0);
    if (e >= count) return;
    const int pair = e / binsSquared, ij = e % binsSquared;
    __global const float *src = partial + (long)pair * chunks * binsSquared + ij;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += src[(long)k * binsSquared];
    out[e] = s;
}

// Sum of x[0 ..< count] by one work-group of 256 (result valid in every work-item).
INLINE float group_sum(__global const float *x, const int count, __local float *scratch) {
    const int lid = get_local_id(0);
    float s = 0.0f;
    for (int i = lid; i < count; i += 256) s += x[i];
    scratch[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = 128; w > 0; w >>= 1) {
        if (lid < w) scratch[lid] += scratch[lid + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// hist[n] /= (Σ hist[n] + eps); one work-group of 256 per image.
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void hist_normalize(__global float *hist, const int perImage) {
    __local float scratch[256];
    __global float *h = hist + (long)get_group_id(0) * perImage;
    const float scale = 1.0f / (group_sum(h, perImage, scratch) + EPS);
    for (int i = get_local_id(0); i < perImage; i += 256) h[i] *= scale;
}

// MARK: backward

// dG[n] = (dH[n] − Σ dH[n]·H[n]) / (S[n] + eps) with S[n] = Σ_p feature 7 (the unnormalised total).
// One work-group of 256 per image.
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void hist_grad_prep(__global const float *features, __global const float *hist, __global const float *gradOut,
                    __global float *gradG, const int P, const int perImage) {
    __local float scratch[256];
    const int n = get_group_id(0), lid = get_local_id(0);
    const float total = group_sum(features + ((long)n * 8 + 7) * P, P, scratch);
    __global const float *h = hist + (long)n * perImage, *g = gradOut + (long)n * perImage;
    float d = 0.0f;
    for (int i = lid; i < perImage; i += 256) d += g[i] * h[i];
    scratch[lid] = d;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = 128; w > 0; w >>= 1) {
        if (lid < w) scratch[lid] += scratch[lid + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float dot = scratch[0], scale = 1.0f / (total + EPS);
    for (int i = lid; i < perImage; i += 256) gradG[(long)n * perImage + i] = (g[i] - dot) * scale;
}

// Per binned pixel p and channel c, with T = dG·k(v_p − t) and T' = dG·k'(v_p − t) (vectors over i):
// out[n, c, 0, p] = Σ_i k(u_p − t_i)·T_i, out[n, c, 1, p] = Iy·Σ_i k'(u_p − t_i)·T_i,
// out[n, c, 2, p] = Iy·Σ_i k(u_p − t_i)·T'_i. Work-group (64-pixel tile, n·3 + c), local (16, 16):
// a GEMM over j for each 64-bin tile of i, folded into per-pixel sums reduced over the 16 rows.
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void hist_backward_pixels(__global const float *features, __global const float *gradG, __global float *out,
                          const int8 geom, const float invS2, const float halfWidth) {
    __local float gs[KT][TILE], vs[KT][TILE], vd[KT][TILE];
    __local float ci[TILE], cj[KT], pu[TILE], pv[TILE], piy[TILE];
    __local float red[3][16][TILE];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    const int bins = geom.s5, P = geom.s6, pair = get_group_id(1), n = pair / 3, c = pair % 3;
    const int p0 = get_group_id(0) * TILE;
    __global const float *f = features + (long)n * 8 * P;
    if (tid < TILE) {
        const int p = min(p0 + tid, P - 1);
        piy[tid] = f[p];
        pu[tid] = f[(1 + 2 * c) * P + p];
        pv[tid] = f[(2 + 2 * c) * P + p];
    }
    __global const float *g = gradG + (long)pair * bins * bins;
    float sumIy[4] = {0, 0, 0, 0}, sumU[4] = {0, 0, 0, 0}, sumV[4] = {0, 0, 0, 0};
    for (int i0 = 0; i0 < bins; i0 += TILE) {
        float t[4][4], td[4][4];
        _Pragma("unroll") for (int r = 0; r < 4; r++) _Pragma("unroll") for (int s = 0; s < 4; s++) { t[r][s] = 0.0f; td[r][s] = 0.0f; }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (tid < TILE) ci[tid] = bin_centre(min(i0 + tid, bins - 1), bins);
        // Not redundant: PoCL 3.1 runs a region that ends at a loop-header barrier with wrong local
        // ids (the write above then lands everywhere); an explicit barrier here avoids it.
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j0 = 0; j0 < bins; j0 += KT) {
            barrier(CLK_LOCAL_MEM_FENCE);
            if (tid < KT) cj[tid] = bin_centre(min(j0 + tid, bins - 1), bins);
            barrier(CLK_LOCAL_MEM_FENCE);
            // gs[j][i] = dG[i0 + i, j0 + j]; vs/vd[j][p] = k, k' at v_p − t_j.
            const int jj = tid % KT, ib = tid / KT;
            _Pragma("unroll") for (int r = 0; r < 4; r++) {
                const int i = ib + 16 * r;
                gs[jj][i] = i0 + i < bins && j0 + jj < bins ? g[(i0 + i) * bins + j0 + jj] : 0.0f;
                const int p = tid % TILE, j = tid / TILE + 4 * r;
                const float d = pv[p] - cj[j], k = kern(d, invS2, halfWidth);
                const bool live = j0 + j < bins;
                vs[j][p] = live ? k : 0.0f;
                vd[j][p] = live ? kern_slope(d, k, invS2) : 0.0f;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int k = 0; k < KT; k++) {
                float a[4], b[4], bd[4];
                _Pragma("unroll") for (int r = 0; r < 4; r++) { a[r] = gs[k][ty + 16 * r]; b[r] = vs[k][tx + 16 * r]; bd[r] = vd[k][tx + 16 * r]; }
                _Pragma("unroll") for (int r = 0; r < 4; r++)
                    _Pragma("unroll") for (int s = 0; s < 4; s++) { t[r][s] += a[r] * b[s]; td[r][s] += a[r] * bd[s]; }
            }
        }
        _Pragma("unroll") for (int r = 0; r < 4; r++) {
            const int i = ty + 16 * r;
            if (i0 + i >= bins) continue;
            _Pragma("unroll") for (int s = 0; s < 4; s++) {
                const float d = pu[tx + 16 * s] - ci[i], k = kern(d, invS2, halfWidth);
                sumIy[s] += k * t[r][s];
                sumU[s] += kern_slope(d, k, invS2) * t[r][s];
                sumV[s] += k * td[r][s];
            }
        }
    }
    _Pragma("unroll") for (int s = 0; s < 4; s++) { red[0][ty][tx + 16 * s] = sumIy[s]; red[1][ty][tx + 16 * s] = sumU[s]; red[2][ty][tx + 16 * s] = sumV[s]; }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (tid < 3 * TILE) {
        const int which = tid / TILE, p = tid % TILE;
        float s = 0.0f;
        for (int r = 0; r < 16; r++) s += red[which][r][p];
        if (p0 + p < P) out[((long)pair * 3 + which) * P + p0 + p] = which == 0 ? s : piy[p] * s;
    }
}

// Chain rule from (∂Iy, ∂u_c, ∂v_c) to the binned pixel: dx_k = dL_k / (x_k + eps) + ΣdIy·x_k / Iy.
// Writes dBinned [N, 3, P], or with geom.s4 == 0 (no resize) the image gradient masked by the clamp.
__kernel void hist_chain(__global const float *image, __global const float *pixelGrads, __global float *out,
                         const int8 geom, const int8 samp, const float scaleY, const float scaleX) {
    const int p = get_global_id(0), n = get_global_id(1), P = geom.s6;
    if (p >= P || n >= geom.s7) return;
    const float3 x = binned_rgb(image, n, p, geom, samp, scaleY, scaleX);
    const float iy = sqrt(x.x * x.x + x.y * x.y + x.z * x.z + EPS);
    __global const float *g = pixelGrads + (long)n * 9 * P + p;
    const float dIy = g[0] + g[3 * P] + g[6 * P];
    const float du0 = g[P], dv0 = g[2 * P], du1 = g[4 * P], dv1 = g[5 * P], du2 = g[7 * P], dv2 = g[8 * P];
    const float radial = dIy / iy;
    float3 dx = (float3)((du0 + dv0 - du1 - du2) / (x.x + EPS) + radial * x.x,
                         (-du0 + du1 + dv1 - dv2) / (x.y + EPS) + radial * x.y,
                         (-dv0 - dv1 + du2 + dv2) / (x.z + EPS) + radial * x.z);
    __global float *o = out + (long)n * 3 * P + p;
    if (geom.s4 == 0) {
        __global const float *src = image + (long)n * 3 * P + p;
        dx.x = src[0] >= 0.0f && src[0] <= 1.0f ? dx.x : 0.0f;
        dx.y = src[P] >= 0.0f && src[P] <= 1.0f ? dx.y : 0.0f;
        dx.z = src[2 * P] >= 0.0f && src[2 * P] <= 1.0f ? dx.z : 0.0f;
    }
    o[0] = dx.x;
    o[P] = dx.y;
    o[2 * P] = dx.z;
}

// Weight with which binned index o reads source index y along one axis (0 when it does not).
INLINE float axis_weight(const int o, const int y, const int in, const int mode, const float scale, const int bins,
                         const int deficit, const int expo) {
    if (mode == 2) return sample_index(o, in, bins, deficit, expo) == y ? 1.0f : 0.0f;
    int i0, i1;
    float w0, w1;
    linear_tap(o, in, scale, &i0, &i1, &w0, &w1);
    return (i0 == y ? w0 : 0.0f) + (i1 == y ? w1 : 0.0f);
}

// Binned indices that may read source index y: a conservative range, checked exactly by axis_weight.
INLINE int2 axis_range(const int y, const int in, const int out, const int mode, const float scale) {
    const float step = mode == 2 ? (float)in / (float)out : scale;
    const int lo = (int)floor(((float)y - 1.5f) / step) - 2;
    const int hi = (int)ceil(((float)y + 2.0f) / step) + 2;
    return (int2)(max(lo, 0), min(hi, out - 1));
}

// Adjoint of the resize: one work-item per source pixel (dim 0) of plane n·3 + ch (dim 1), gathering
// the binned gradient through the same taps or samples; zero where the clamp was active.
__kernel void hist_resample_backward(__global const float *image, __global const float *gradBinned,
                                     __global float *gradImage, const int8 geom, const int8 samp,
                                     const float scaleY, const float scaleX) {
    const int e = get_global_id(0), plane = get_global_id(1);
    const int H = geom.s0, W = geom.s1, BH = geom.s2, BW = geom.s3, mode = geom.s4, bins = geom.s5;
    if (e >= H * W || plane >= geom.s7 * 3) return;
    const int y = e / W, x = e % W;
    const int2 rows = axis_range(y, H, BH, mode, scaleY), cols = axis_range(x, W, BW, mode, scaleX);
    __global const float *g = gradBinned + (long)plane * BH * BW;
    float s = 0.0f;
    for (int r = rows.x; r <= rows.y; r++) {
        const float wy = axis_weight(r, y, H, mode, scaleY, bins, samp.s0, samp.s1);
        if (wy == 0.0f) continue;
        float row = 0.0f;
        for (int q = cols.x; q <= cols.y; q++) {
            const float wx = axis_weight(q, x, W, mode, scaleX, bins, samp.s2, samp.s3);
            row += wx * g[r * BW + q];
        }
        s += wy * row;
    }
    const float v = image[(long)plane * H * W + e];
    gradImage[(long)plane * H * W + e] = v >= 0.0f && v <= 1.0f ? s : 0.0f;
}
