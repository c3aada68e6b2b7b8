// Fused optimizer steps over up to SLOTS tensors per launch (PyTorch's multi-tensor "foreach" Adam),
// one work-item per element. Tensor s owns the work-groups [start_s, end_s): `group_ends` = (end_0, …, end_15),
// start_0 = 0, start_s = end_{s−1}, and `counts` its element count, so the slot is uniform in a work-group
// (no divergence; CPU drivers keep vectorising across work-items). Unused slots have end INT_MAX and a dummy
// buffer that is never read.

#define SLOTS 16
// The components of an int16 as an array initialiser (not vstore16: a private array passed to a built-in stays in
// memory).
#define INT16_ELEMENTS(v) {v.s0, v.s1, v.s2, v.s3, v.s4, v.s5, v.s6, v.s7, v.s8, v.s9, v.sa, v.sb, v.sc, v.sd, v.se, v.sf}

// The slot of this work-group and the work-item's element index inside that tensor (may be ≥ its count).
INLINE int slot_of(const int16 group_ends, int *index) {
    const int group = get_group_id(0);
    const int e[SLOTS] = INT16_ELEMENTS(group_ends);
    // s: the number of slots that end at or before this group (scalar compares: 1 for true on every compiler);
    // start: the end of the last of them. Constant indices only, so e stays in registers.
    int s = 0, start = 0;
#pragma unroll
    for (int k = 0; k < SLOTS; k++) {
        if (group >= e[k]) {
            s++;
            start = e[k];
        }
    }
    *index = (group - start) * get_local_size(0) + get_local_id(0);
    return s;
}

// Element count of slot s (a select over constant indices, no private array lookup).
INLINE int count_of(const int s, const int16 counts) {
    const int c[SLOTS] = INT16_ELEMENTS(counts);
    int n = 0;
#pragma unroll
    for (int k = 0; k < SLOTS; k++) n = k == s ? c[k] : n;
    return n;
}

#define ADAM_SLOT(k) __global float *p##k, __global const float *g##k, __global float *m##k, __global float *v##k
#define ADAM_CASE(k) case k: p = p##k; g = g##k; m = m##k; v = v##k; break;

// Adam (AdamStep in PrimitiveShapes.swift): g = grad·grad_scale, m = β1·m + (1-β1)·g,
// v = β2·v + (1-β2)·g², p -= lr·(m / bc1) / (sqrt(v / bc2) + eps), bc = 1 - β^step from the host.
// Launch: global (local size · group end of the last used slot), local (the size the group ends assume).
__kernel void adam_step(ADAM_SLOT(0), ADAM_SLOT(1), ADAM_SLOT(2), ADAM_SLOT(3), ADAM_SLOT(4), ADAM_SLOT(5),
                        ADAM_SLOT(6), ADAM_SLOT(7), ADAM_SLOT(8), ADAM_SLOT(9), ADAM_SLOT(10), ADAM_SLOT(11),
                        ADAM_SLOT(12), ADAM_SLOT(13), ADAM_SLOT(14), ADAM_SLOT(15),
                        const int16 group_ends, const int16 counts, const float lr, const float beta1, const float beta2,
                        const float eps, const float bc1, const float bc2, const float grad_scale) {
    int i;
    const int s = slot_of(group_ends, &i);
    if (s >= SLOTS || i >= count_of(s, counts)) return;
    __global float *p, *m, *v;
    __global const float *g;
    switch (s) {
        ADAM_CASE(0) ADAM_CASE(1) ADAM_CASE(2) ADAM_CASE(3) ADAM_CASE(4) ADAM_CASE(5) ADAM_CASE(6) ADAM_CASE(7)
        ADAM_CASE(8) ADAM_CASE(9) ADAM_CASE(10) ADAM_CASE(11) ADAM_CASE(12) ADAM_CASE(13) ADAM_CASE(14) ADAM_CASE(15)
        default: return;
    }
    const float gi = g[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
}

#define EMA_SLOT(k) __global float *e##k, __global const float *q##k
#define EMA_CASE(k) case k: e = e##k; q = q##k; break;

// EMA lerp (NVlabs p.lerp(ema, beta)): ema = param + (ema - param)·beta, param q.
// Launch: as adam_step.
__kernel void ema_update(EMA_SLOT(0), EMA_SLOT(1), EMA_SLOT(2), EMA_SLOT(3), EMA_SLOT(4), EMA_SLOT(5), EMA_SLOT(6),
                         EMA_SLOT(7), EMA_SLOT(8), EMA_SLOT(9), EMA_SLOT(10), EMA_SLOT(11), EMA_SLOT(12),
                         EMA_SLOT(13), EMA_SLOT(14), EMA_SLOT(15),
                         const int16 group_ends, const int16 counts, const float beta) {
    int i;
    const int s = slot_of(group_ends, &i);
    if (s >= SLOTS || i >= count_of(s, counts)) return;
    __global float *e;
    __global const float *q;
    switch (s) {
        EMA_CASE(0) EMA_CASE(1) EMA_CASE(2) EMA_CASE(3) EMA_CASE(4) EMA_CASE(5) EMA_CASE(6) EMA_CASE(7)
        EMA_CASE(8) EMA_CASE(9) EMA_CASE(10) EMA_CASE(11) EMA_CASE(12) EMA_CASE(13) EMA_CASE(14) EMA_CASE(15)
        default: return;
    }
    const float p = q[i];
    e[i] = p + (e[i] - p) * beta;
}
