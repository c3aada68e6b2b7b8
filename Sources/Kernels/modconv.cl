// modconv kernels: StyleGAN2 weight modulation (forward and backward, no atomics).
//
// u[n,o,i,k] = w[o,i,k]·s[n,i];  d[n,o] = rsqrt(Σ_{i,k} u² + eps) (demod) or 1;  w' = u·d.
// Backward with g = ∂L/∂w': c[n,o] = d³·Σ_{i,k} g·u (demod) or 0;  ∂L/∂u = d·g − c·u;
// dw[o,i,k] = Σ_n ∂L/∂u·s[n,i];  ds[n,i] = Σ_{o,k} ∂L/∂u·w[o,i,k].
//
// The row kernels run one work-group of WG work-items per (n, o) row (launch global (N·O·WG), local (WG)).

#define WG 256

// Sum of `v` over the work-group (every work-item gets the result). `red` holds WG floats.
INLINE float group_sum(float v, __local float *red) {
    const int lid = get_local_id(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = WG / 2; span > 0; span >>= 1) {
        if (lid < span) red[lid] += red[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// d = rsqrt(Σ_e (wr[e]·sr[e / K])² + eps) over one (n, o) row of `len` = I·K elements (every work-item gets it).
INLINE float demodulation(__global const float *wr, __global const float *sr, const int len, const int K, const float eps,
                          __local float *red) {
    float sum = 0.0f;
    for (int e = get_local_id(0); e < len; e += WG) {
        const float u = wr[e] * sr[e / K];
        sum = mad(u, u, sum);
    }
    return rsqrt(group_sum(sum, red) + eps);
}

// modulated[n, o, :, :] = w[o]·s[n]·d[n, o]
__kernel void modulate_fwd(__global const float *w, __global const float *s, __global float *out,
                           const int O, const int I, const int K, const int demodulate, const float eps) {
    __local float red[WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    const int n = row / O, o = row % O, len = I * K;
    __global const float *wr = w + (size_t)o * len;
    __global const float *sr = s + (size_t)n * I;
    const float d = demodulate ? demodulation(wr, sr, len, K, eps, red) : 1.0f;
    __global float *dst = out + (size_t)row * len;
    for (int e = lid; e < len; e += WG) dst[e] = wr[e] * sr[e / K] * d;
}

// stats[2·row] = d[n, o], stats[2·row + 1] = c[n, o] (d = 1, c = 0 without demodulation).
__kernel void modulate_bwd_rows(__global const float *w, __global const float *s, __global const float *g,
                                __global float *stats, const int O, const int I, const int K,
                                const int demodulate, const float eps) {
    __local float red[WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    const int n = row / O, o = row % O, len = I * K;
    if (!demodulate) {
        if (lid == 0) { stats[2 * row] = 1.0f; stats[2 * row + 1] = 0.0f; }
        return;
    }
    __global const float *wr = w + (size_t)o * len;
    __global const float *sr = s + (size_t)n * I;
    __global const float *gr = g + (size_t)row * len;
    float sumSq = 0.0f, dot = 0.0f;
    for (int e = lid; e < len; e += WG) {
        const float u = wr[e] * sr[e / K];
        sumSq = mad(u, u, sumSq);
        dot = mad(gr[e], u, dot);
    }
    sumSq = group_sum(sumSq, red);
    dot = group_sum(dot, red);
    if (lid == 0) {
        const float d = rsqrt(sumSq + eps);
        stats[2 * row] = d;
        stats[2 * row + 1] = d * d * d * dot;
    }
}

// dw[o, i, k] = Σ_n (d·g − c·u)·s[n, i], one work-item per weight element.
// Launch: global (O·I·K).
__kernel void modulate_bwd_weight(__global const float *w, __global const float *s, __global const float *g,
                                  __global const float *stats, __global float *dw,
                                  const int N, const int O, const int I, const int K) {
    const int idx = get_global_id(0), len = I * K;
    if (idx >= O * len) return;
    const int o = idx / len, e = idx % len, i = e / K;
    const float wv = w[idx];
    float acc = 0.0f;
    for (int n = 0; n < N; n++) {
        const int row = n * O + o;
        const float sv = s[n * I + i];
        const float gu = stats[2 * row] * g[(size_t)row * len + e] - stats[2 * row + 1] * wv * sv;
        acc = mad(gu, sv, acc);
    }
    dw[idx] = acc;
}

// ds[n, i] = Σ_{o, k} (d·g − c·u)·w[o, i, k], one work-group of WG per (n, i).
// Launch: global (N·I·WG), local (WG).
__kernel void modulate_bwd_styles(__global const float *w, __global const float *s, __global const float *g,
                                  __global const float *stats, __global float *ds,
                                  const int O, const int I, const int K) {
    __local float red[WG];
    const int item = get_group_id(0), lid = get_local_id(0);
    const int n = item / I, i = item % I, len = I * K;
    const float sv = s[item];
    float acc = 0.0f;
    for (int e = lid; e < O * K; e += WG) {
        const int o = e / K, k = e % K, row = n * O + o;
        const float wv = w[(size_t)o * len + i * K + k];
        const float gu = stats[2 * row] * g[(size_t)row * len + i * K + k] - stats[2 * row + 1] * wv * sv;
        acc = mad(gu, wv, acc);
    }
    acc = group_sum(acc, red);
    if (lid == 0) ds[item] = acc;
}

// MARK: - demodulation coefficients alone (the split modconv: activations are scaled, weights are not)
//
// d[n, o] = rsqrt(Σ_{i,k} (w[o,i,k]·s[n,i])² + eps), as modulate_fwd computes it. Backward with gd = ∂L/∂d
// and t = gd·d³:  ds[n, i] = −s[n,i]·Σ_{o,k} t[n,o]·w[o,i,k]²;  dw[o,i,k] = −w[o,i,k]·Σ_n t[n,o]·s[n,i]².

// One work-group of WG per (n, o) row. Launch: global (N·O·WG), local (WG).
__kernel void demodulate_fwd(__global const float *w, __global const float *s, __global float *d,
                             const int O, const int I, const int K, const float eps) {
    __local float red[WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    const int n = row / O, o = row % O, len = I * K;
    __global const float *wr = w + (size_t)o * len;
    __global const float *sr = s + (size_t)n * I;
    const float dv = demodulation(wr, sr, len, K, eps, red);
    if (lid == 0) d[row] = dv;
}

// ds[n, i], one work-group of WG per (n, i). Launch: global (N·I·WG), local (WG).
__kernel void demodulate_bwd_styles(__global const float *w, __global const float *s, __global const float *d,
                                    __global const float *gd, __global float *ds, const int O, const int I, const int K) {
    __local float red[WG];
    const int item = get_group_id(0), lid = get_local_id(0);
    const int n = item / I, i = item % I, len = I * K;
    float acc = 0.0f;
    for (int e = lid; e < O * K; e += WG) {
        const int o = e / K, k = e % K, row = n * O + o;
        const float dv = d[row], wv = w[(size_t)o * len + i * K + k];
        acc = mad(gd[row] * dv * dv * dv * wv, wv, acc);
    }
    acc = group_sum(acc, red);
    if (lid == 0) ds[item] = -s[item] * acc;
}

// dw[o, i, k], one work-item per weight element. Launch: global (O·I·K).
__kernel void demodulate_bwd_weight(__global const float *w, __global const float *s, __global const float *d,
                                    __global const float *gd, __global float *dw, const int N, const int O,
                                    const int I, const int K) {
    const int idx = get_global_id(0), len = I * K;
    if (idx >= O * len) return;
    const int o = idx / len, i = (idx % len) / K;
    float acc = 0.0f;
    for (int n = 0; n < N; n++) {
        const int row = n * O + o;
        const float dv = d[row], sv = s[n * I + i];
        acc = mad(gd[row] * dv * dv * dv * sv, sv, acc);
    }
    dw[idx] = -w[idx] * acc;
}
