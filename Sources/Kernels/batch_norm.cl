// Batch normalisation (Ops/BatchNorm.swift, CPUBackend+BatchNorm.swift). x is [outer, channels, inner].

// One work-group of 64 per channel: mean, then the biased variance Σ(x − mean)² / n (two passes, so no
// cancellation), each reduced in local memory.
__kernel void batch_norm_stats(__global const float *x, __global float *mean, __global float *var,
                               const int outer, const int channels, const int inner, __local float *scratch) {
    const int c = get_group_id(0), lid = get_local_id(0), lsize = get_local_size(0);
    const int n = outer * inner;
    float acc = 0.0f;
    for (int i = lid; i < n; i += lsize) acc += x[((i / inner) * channels + c) * inner + i % inner];
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lsize / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float m = scratch[0] / (float)n;
    barrier(CLK_LOCAL_MEM_FENCE);
    acc = 0.0f;
    for (int i = lid; i < n; i += lsize) {
        const float d = x[((i / inner) * channels + c) * inner + i % inner] - m;
        acc += d * d;
    }
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lsize / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) { mean[c] = m; var[c] = scratch[0] / (float)n; }
}

// y = (x − mean[c]) · rsqrt(var[c] + eps) · gamma[c] + beta[c].
__kernel void batch_norm_apply(__global const float *x, __global const float *mean, __global const float *var,
                               __global const float *gamma, __global const float *beta, __global float *y,
                               const int count, const int channels, const int inner, const float eps) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const int c = (i / inner) % channels;
    y[i] = (x[i] - mean[c]) * (1.0f / sqrt(var[c] + eps)) * gamma[c] + beta[c];
}
