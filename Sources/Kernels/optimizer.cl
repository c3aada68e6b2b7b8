// Fused optimizer steps, one work-item per parameter.

// Adam (AdamStep in PrimitiveShapes.swift): g = grad·grad_scale, m = β1·m + (1-β1)·g,
// v = β2·v + (1-β2)·g², p -= lr·(m / bc1) / (sqrt(v / bc2) + eps), bc = 1 - β^step from the host.
__kernel void adam_step(__global float *param, __global const float *grad, __global float *m,
                        __global float *v, const int count, const float lr, const float beta1,
                        const float beta2, const float eps, const float bc1, const float bc2,
                        const float grad_scale) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const float g = grad[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * (g * g);
    m[i] = mi;
    v[i] = vi;
    param[i] -= lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
}

// EMA lerp (NVlabs p.lerp(ema, beta)): ema = param + (ema - param)·beta.
__kernel void ema_update(__global float *ema, __global const float *param, const int count, const float beta) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const float p = param[i];
    ema[i] = p + (ema[i] - p) * beta;
}
