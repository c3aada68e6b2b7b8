// Elementwise kernels: fill, unary ops, broadcasting binary ops and select.
// Op codes match UnaryOp.code / BinaryOp.rawValue in Sources/Engine/Core/PrimitiveShapes.swift.

__kernel void fill(__global float *out, const int count, const float value) {
    int i = get_global_id(0);
    if (i < count) out[i] = value;
}

INLINE float unary_op(const int op, const float x, const float k) {
    switch (op) {
    case 0: return -x;
    case 1: return sqrt(x);
    case 2: return rsqrt(x);
    case 3: return exp(x);
    case 4: return log(x);
    case 5: return x * x;
    case 6: return fabs(x);
    case 7: return fmax(x, 0.0f) + log1p(exp(-fabs(x)));   // softplus, stable
    case 8: return fmax(x, 0.0f);
    case 9: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case 10: return 1.0f / x;
    case 11: return x > 0.0f ? x : k * x;
    case 12: return x * k;
    case 13: return x + k;
    case 14: return pow(x, k);
    case 15: return x > k ? 1.0f : 0.0f;
    case 16: return x >= 0.0f ? 1.0f / (1.0f + exp(-x)) : exp(x) / (1.0f + exp(x));   // sigmoid, stable
    case 17: return tanh(x);
    default: return NAN;
    }
}

__kernel void unary(__global const float *x, __global float *out, const int count, const int op, const float k) {
    int i = get_global_id(0);
    if (i < count) out[i] = unary_op(op, x[i], k);
}

INLINE float binary_op(const int op, const float a, const float b) {
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return pow(a, b);
    case 5: return fmax(a, b);
    case 6: return fmin(a, b);
    case 7: return a > b ? 1.0f : 0.0f;
    default: return NAN;
    }
}

// strided_offset(i, shape, strides, rank) comes from strided_index.cl (prepended to every program).

__kernel void binary(__global const float *a, const int offA, const int8 strideA,
                     __global const float *b, const int offB, const int8 strideB,
                     __global float *out, const int8 shape, const int rank, const int count, const int op) {
    int i = get_global_id(0);
    if (i >= count) return;
    float x = a[offA + strided_offset(i, shape, strideA, rank)];
    float y = b[offB + strided_offset(i, shape, strideB, rank)];
    out[i] = binary_op(op, x, y);
}

__kernel void select_where(__global const float *c, const int offC, const int8 strideC,
                           __global const float *a, const int offA, const int8 strideA,
                           __global const float *b, const int offB, const int8 strideB,
                           __global float *out, const int8 shape, const int rank, const int count) {
    int i = get_global_id(0);
    if (i >= count) return;
    float cond = c[offC + strided_offset(i, shape, strideC, rank)];
    out[i] = cond > 0.0f ? a[offA + strided_offset(i, shape, strideA, rank)]
                         : b[offB + strided_offset(i, shape, strideB, rank)];
}
