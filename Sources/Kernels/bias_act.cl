// Fused noise + bias + activation (NVlabs torch_utils/ops/bias_act, with StyleGAN2's per-pixel noise folded in):
// forward and gradient.
// Build options: -D ACT=0 (linear) or 1 (leaky ReLU); -D HAS_BIAS=0/1 and -D HAS_NOISE=0/1 (forward only).
// Element i of [outer, channels, inner] uses bias b[(i / inner) % channels] and noise
// noise[(i / (channels·inner))·noiseStride + i % inner] (noiseStride = inner: one plane per sample, 0: one shared plane).
// Each work-item handles one element; the ops are memory bound. No contraction, so x + noise·strength rounds
// exactly as the separate multiply and add it replaces (and as the CPU backend).

#pragma OPENCL FP_CONTRACT OFF

#ifndef ACT
#define ACT 0
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0
#endif
#ifndef HAS_NOISE
#define HAS_NOISE 0
#endif

// y = clamp(act(x + noise·strength + b[c]) * gain, -clamp, clamp); no clamp when clampv < 0.
__kernel void bias_act_fwd(__global const float *x, __global const float *b, __global float *y,
                           const int count, const int channels, const int inner,
                           const float alpha, const float gain, const float clampv,
                           __global const float *noise, __global const float *strength, const int noiseStride) {
    int i = get_global_id(0);
    if (i >= count) return;
    float v = x[i];
#if HAS_NOISE
    v += noise[(i / (channels * inner)) * noiseStride + i % inner] * strength[0];
#endif
#if HAS_BIAS
    v += b[(i / inner) % channels];
#endif
    y[i] = act_gain_clamp(v, ACT == 1, alpha, gain, clampv);
}

// dx = dy * act'(y) * gain * [|y| < clamp]; the slope is read from the sign of the saved output y.
__kernel void bias_act_grad(__global const float *dy, __global const float *y, __global float *dx,
                            const int count, const float alpha, const float gain, const float clampv) {
    int i = get_global_id(0);
    if (i >= count) return;
    dx[i] = act_gain_clamp_grad(dy[i], y[i], ACT == 1, alpha, gain, clampv);
}
