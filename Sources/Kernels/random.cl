// Philox4x32-10 (Salmon et al. 2011; constants of Random123, PyTorch and JAX). One work-item per
// counter block b: key (lo32(seed), hi32(seed)), counter (lo32(offset + b), hi32(offset + b), 0, 0);
// it writes out[4b + lane] for the lanes below count. Sources/Engine/CPU/Philox.swift is the same
// function on the host.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

INLINE uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) k += (uint2)(PHILOX_W0, PHILOX_W1);
        const uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        const uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

INLINE uint4 philox_block(const ulong seed, const ulong block) {
    return philox4x32_10((uint4)((uint)block, (uint)(block >> 32), 0u, 0u),
                         (uint2)((uint)seed, (uint)(seed >> 32)));
}

// U[0, 1): (x >> 8)·2⁻²⁴, exact in float.
INLINE float4 uniform4(const uint4 x) {
    return convert_float4(x >> 8) * 0x1.0p-24f;
}

// Box–Muller on lane pairs (0,1) and (2,3): u1 = ((a >> 8) + 1)·2⁻²⁴ in (0, 1], u2 = (b >> 8)·2⁻²⁴,
// r = sqrt(-2 ln u1); (r·cos 2πu2, r·sin 2πu2).
INLINE float4 normal4(const uint4 x) {
    const float2 u1 = convert_float2((x.xz >> 8) + 1u) * 0x1.0p-24f;
    const float2 u2 = convert_float2(x.yw >> 8) * 0x1.0p-24f;
    const float2 r = sqrt(-2.0f * log(u1));
    const float2 c = cospi(2.0f * u2), s = sinpi(2.0f * u2);
    return (float4)(r.x * c.x, r.x * s.x, r.y * c.y, r.y * s.y);
}

// distribution: 0 uniform, 1 normal (RandomDistribution.rawValue).
__kernel void philox_fill(__global float *out, const int count, const ulong seed, const ulong offset,
                          const int distribution) {
    const int b = get_global_id(0);
    const int first = 4 * b;
    if (first >= count) return;
    const uint4 x = philox_block(seed, offset + (ulong)b);
    const float4 v = distribution == 0 ? uniform4(x) : normal4(x);
    if (first + 3 < count) {
        vstore4(v, b, out);
    } else {
        const float w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int lane = 0; lane < 4; lane++) if (first + lane < count) out[first + lane] = w[lane];
    }
}
