// Shared by every kernel family: OpenCLBackend prepends this file to each program's source.

// On GPUs (-D ALWAYS_INLINE, set by the host for every non-CPU device) every helper function is always inlined. The
// private arrays a kernel hands to its helpers by pointer (the GEMM and conv accumulators, the staged operand slices)
// then stay in registers with every compiler, not only with those whose inliner happens to take large helpers: clang's
// NVPTX back end left them in per-thread local memory (DRAM on a GPU), which turns each FMA into a memory access
// (`scripts/ptx-check.py` reports such depots). CPU drivers keep plain `inline`: PoCL ran the GEMM slower so.
#ifdef ALWAYS_INLINE
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

// Element offset of flat index i (row-major over `shape`) in a view with `strides`.
INLINE int strided_offset(int i, const int8 shape, const int8 strides, const int rank) {
    const int s[8] = {shape.s0, shape.s1, shape.s2, shape.s3, shape.s4, shape.s5, shape.s6, shape.s7};
    const int t[8] = {strides.s0, strides.s1, strides.s2, strides.s3, strides.s4, strides.s5, strides.s6, strides.s7};
    int off = 0;
    // Unrolled over all 8 axes (those past `rank` skipped), so s and t are indexed by constants and stay in registers.
#pragma unroll
    for (int d = 7; d >= 0; d--) {
        if (d < rank) {
            off += (i % s[d]) * t[d];
            i /= s[d];
        }
    }
    return off;
}

// bias_act's activation, gain and clamp of a value with its bias already added (bias_act.cl, and conv2d.cl's
// EPILOGUE store): leaky = 1 for leaky ReLU with slope alpha (a compile-time constant at every call); no clamp when
// clampv < 0.
INLINE float act_gain_clamp(float v, const int leaky, const float alpha, const float gain, const float clampv) {
    if (leaky) v = v > 0.0f ? v : v * alpha;
    v *= gain;
    if (clampv >= 0.0f) v = fmin(fmax(v, -clampv), clampv);
    return v;
}

// Its gradient: dx = dy·gain·act'·[|y| < clamp], the slope read from the sign of the saved output y (bias_act.cl's
// bias_act_grad, and reduce.cl's BIAS_ACT_GRAD loads).
INLINE float act_gain_clamp_grad(const float dy, const float out, const int leaky, const float alpha, const float gain,
                                 const float clampv) {
    float g = dy * gain;
    if (leaky && !(out > 0.0f)) g *= alpha;
    if (clampv >= 0.0f && !(fabs(out) < clampv)) g = 0.0f;
    return g;
}
