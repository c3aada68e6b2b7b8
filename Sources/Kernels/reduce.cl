// Reductions over any set of axes (sum, mean, sum of squares, max), after the host has split the
// dimensions into kept ones (indexing the output) and reduced ones, each with its input strides
// (ReducePlan in Sources/Engine/Core/PrimitivePlans.swift). Accumulation is in float: each work-item
// sums a strided slice of its chunk, then the work-group combines by a tree in local memory. Long
// reductions run in two passes: pass 1 writes one partial per (output, chunk), pass 2 reduces those.
//
// Runtime flags: square (1: accumulate x²), is_max (1: max instead of sum); scale multiplies the
// result (1/n for mean in the last pass, 1 otherwise).
// Build option BIAS_ACT_GRAD (with ACT = 0 linear / 1 leaky ReLU; first pass of a sum only): x is bias_act's dy, and
// each element read becomes dx = dy·gain·act'(y)·[|y| < clamp] (act_gain_clamp_grad), written to dx at its offset
// and summed: bias_act's input gradient and the bias's gradient in one pass (extra arguments y, dx, alpha, gain,
// clampv after the flags).

// strided_offset(i, shape, strides, rank) comes from strided_index.cl (prepended to every program).

INLINE float combine(const int is_max, const float a, const float b) {
    return is_max ? fmax(a, b) : a + b;
}

#ifdef BIAS_ACT_GRAD
#define GRAD_ARGS , __global const float *yv, __global float *dx, const float alpha, const float gain, const float clampv
// dx at input offset `off`, stored and returned.
INLINE float load_grad(__global const float *dy, __global const float *yv, __global float *dx, const int off,
                       const float alpha, const float gain, const float clampv) {
    const float g = act_gain_clamp_grad(dy[off], yv[off], ACT == 1, alpha, gain, clampv);
    dx[off] = g;
    return g;
}
#define LOAD(off) load_grad(x, yv, dx, off, alpha, gain, clampv)
#else
#define GRAD_ARGS
#define LOAD(off) x[off]
#endif

// One work-group per (output o, chunk c), group g = o·chunks + c; writes out[g]. The local size is a
// power of two; `scratch` holds one float per work-item.
__kernel void reduce_groups(__global const float *x, __global float *out,
                            const int8 kept_shape, const int8 kept_strides, const int kept_rank,
                            const int8 red_shape, const int8 red_strides, const int red_rank,
                            const int red_count, const int chunk_len, const int chunks, const int groups,
                            const int square, const int is_max, const float scale,
                            __local float *scratch GRAD_ARGS) {
    const int g = get_group_id(0);
    if (g >= groups) return;   // uniform over the group
    const int lid = get_local_id(0), lsize = get_local_size(0);
    const int o = g / chunks, c = g % chunks;
    const int base = strided_offset(o, kept_shape, kept_strides, kept_rank);
    const int begin = c * chunk_len, end = min(begin + chunk_len, red_count);
    float acc = is_max ? -INFINITY : 0.0f;
    for (int r = begin + lid; r < end; r += lsize) {
        float v = LOAD(base + strided_offset(r, red_shape, red_strides, red_rank));
        acc = combine(is_max, acc, square ? v * v : v);
    }
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lsize >> 1; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = combine(is_max, scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[g] = scratch[0] * scale;
}

// One work-item per output, for short reductions (a few elements each).
__kernel void reduce_items(__global const float *x, __global float *out,
                           const int8 kept_shape, const int8 kept_strides, const int kept_rank,
                           const int8 red_shape, const int8 red_strides, const int red_rank,
                           const int red_count, const int out_count,
                           const int square, const int is_max, const float scale GRAD_ARGS) {
    const int o = get_global_id(0);
    if (o >= out_count) return;
    const int base = strided_offset(o, kept_shape, kept_strides, kept_rank);
    float acc = is_max ? -INFINITY : 0.0f;
    for (int r = 0; r < red_count; r++) {
        float v = LOAD(base + strided_offset(r, red_shape, red_strides, red_rank));
        acc = combine(is_max, acc, square ? v * v : v);
    }
    out[o] = acc * scale;
}

// Row dot products: out[r] = Σ_j a[r·len + j]·b[r·len + j], divided by divisor[r] when has_divisor (the scaled
// convolutions' scale gradients Σ_{h,w} t·x per (sample, channel)). One work-group per row, a power-of-two local
// size; each work-item sums a strided slice, then a tree in local memory.
__kernel void row_dot(__global const float *a, __global const float *b, __global const float *divisor,
                      __global float *out, const int rows, const int len, const int has_divisor,
                      __local float *scratch) {
    const int r = get_group_id(0);
    if (r >= rows) return;   // uniform over the group
    const int lid = get_local_id(0), lsize = get_local_size(0);
    const long base = (long)r * len;
    float acc = 0.0f;
    for (int j = lid; j < len; j += lsize) acc += a[base + j] * b[base + j];
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lsize >> 1; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[r] = has_divisor ? scratch[0] / divisor[r] : scratch[0];
}
