// Minibatch standard deviation, StyleGAN2's MinibatchStdLayer with one feature (Ops/MinibatchStddev.swift,
// CPUBackend+MinibatchStddev.swift). x [N, C, H, W], y [N, C + 1, H, W]; sample n = k·M + m (k < G, M = N/G)
// belongs to group m. Per element i of a sample (i = c·HW + p, CHW = C·HW):
//   μ_i = (1/G) Σ_k x[kM+m, i],  s_i = sqrt((1/G) Σ_k (x[kM+m, i] − μ_i)² + eps),  f_m = (1/CHW) Σ_i s_i
//   y[n, i] = x[n, i];  y[n, CHW + p] = f_m.
// Backward with d_m = Σ_k Σ_p dy[kM+m, CHW + p]:  dx[kM+m, i] = dy[kM+m, i] + d_m·(x[kM+m, i] − μ_i)/(G·CHW·s_i).
// One work-group per group m (a power-of-two local size, `scratch` one float per work-item); the group's sum goes
// through a tree in local memory. Per element the G samples are summed in k order, as on the CPU.

// μ_i and s_i of element i of group m; `xm` points at sample m (stride between the group's samples: M·CHW).
INLINE float2 mbstd_stats(__global const float *xm, const int i, const int G, const long stride, const float eps) {
    float mean = 0.0f;
    for (int k = 0; k < G; k++) mean += xm[k * stride + i];
    mean /= (float)G;
    float var = 0.0f;
    for (int k = 0; k < G; k++) {
        const float d = xm[k * stride + i] - mean;
        var += d * d;
    }
    return (float2)(mean, sqrt(var / (float)G + eps));
}

// Sum of `v` over the work-group, returned to every work-item.
INLINE float mbstd_group_sum(float v, __local float *scratch) {
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) >> 1; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

__kernel void mbstd_fwd(__global const float *x, __global float *y, const int N, const int G, const int CHW,
                        const int HW, const float eps, __local float *scratch) {
    const int m = get_group_id(0), M = N / G, lid = get_local_id(0), lsize = get_local_size(0);
    const long stride = (long)M * CHW, ystride = (long)M * (CHW + HW);
    __global const float *xm = x + (long)m * CHW;
    __global float *ym = y + (long)m * (CHW + HW);
    float partial = 0.0f;
    for (int i = lid; i < CHW; i += lsize) {
        partial += mbstd_stats(xm, i, G, stride, eps).y;
        for (int k = 0; k < G; k++) ym[k * ystride + i] = xm[k * stride + i];
    }
    const float feature = mbstd_group_sum(partial, scratch) / (float)CHW;
    for (int p = lid; p < HW; p += lsize)
        for (int k = 0; k < G; k++) ym[k * ystride + CHW + p] = feature;
}

__kernel void mbstd_bwd(__global const float *x, __global const float *dy, __global float *dx, const int N, const int G,
                        const int CHW, const int HW, const float eps, __local float *scratch) {
    const int m = get_group_id(0), M = N / G, lid = get_local_id(0), lsize = get_local_size(0);
    const long stride = (long)M * CHW, ystride = (long)M * (CHW + HW);
    __global const float *xm = x + (long)m * CHW;
    __global const float *dym = dy + (long)m * (CHW + HW);
    __global float *dxm = dx + (long)m * CHW;
    float partial = 0.0f;
    for (int p = lid; p < HW; p += lsize)
        for (int k = 0; k < G; k++) partial += dym[k * ystride + CHW + p];
    const float coef = mbstd_group_sum(partial, scratch) / ((float)G * (float)CHW);
    for (int i = lid; i < CHW; i += lsize) {
        const float2 st = mbstd_stats(xm, i, G, stride, eps);
        const float c = coef / st.y;
        for (int k = 0; k < G; k++) dxm[k * stride + i] = dym[k * ystride + i] + c * (xm[k * stride + i] - st.x);
    }
}
