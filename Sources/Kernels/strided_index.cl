// Shared by every kernel family: OpenCLBackend prepends this file to each program's source.

// Element offset of flat index i (row-major over `shape`) in a view with `strides`.
inline int strided_offset(int i, const int8 shape, const int8 strides, const int rank) {
    const int s[8] = {shape.s0, shape.s1, shape.s2, shape.s3, shape.s4, shape.s5, shape.s6, shape.s7};
    const int t[8] = {strides.s0, strides.s1, strides.s2, strides.s3, strides.s4, strides.s5, strides.s6, strides.s7};
    int off = 0;
    for (int d = rank - 1; d >= 0; d--) {
        off += (i % s[d]) * t[d];
        i /= s[d];
    }
    return off;
}
