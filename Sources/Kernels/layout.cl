// Strided copy: dst[dst_off + Σ idx·dst_strides] = src[src_off + Σ idx·src_strides] over every index of
// `shape`. Permute, slice, concat, expand (stride 0 in src) and repeat are all this kernel; the host
// merges dimensions that are contiguous in both views first (CopyPlan), so plain copies are rank 1.

INLINE int2 strided_offsets(int i, const int8 shape, const int8 sa, const int8 sb, const int rank) {
    const int s[8] = {shape.s0, shape.s1, shape.s2, shape.s3, shape.s4, shape.s5, shape.s6, shape.s7};
    const int a[8] = {sa.s0, sa.s1, sa.s2, sa.s3, sa.s4, sa.s5, sa.s6, sa.s7};
    const int b[8] = {sb.s0, sb.s1, sb.s2, sb.s3, sb.s4, sb.s5, sb.s6, sb.s7};
    int2 off = (int2)(0, 0);
    // Unrolled over all 8 axes (those past `rank` skipped): constant indices keep s, a and b in registers.
#pragma unroll
    for (int d = 7; d >= 0; d--) {
        if (d < rank) {
            const int k = i % s[d];
            off += (int2)(k * a[d], k * b[d]);
            i /= s[d];
        }
    }
    return off;
}

__kernel void copy_strided(__global const float *src, const int src_off, const int8 src_strides,
                           __global float *dst, const int dst_off, const int8 dst_strides,
                           const int8 shape, const int rank, const int count) {
    const int i = get_global_id(0);
    if (i >= count) return;
    const int2 off = strided_offsets(i, shape, src_strides, dst_strides, rank);
    dst[dst_off + off.y] = src[src_off + off.x];
}
