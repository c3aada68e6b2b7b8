// Log-softmax over the last axis (Ops/LogSoftmax.swift, CPUBackend+LogSoftmax.swift). x, y are [rows, classes].
// One work-item per row: y = (x − m) − log Σ_j exp(x_j − m), m = max_j x_j (no overflow in exp).
__kernel void log_softmax_fwd(__global const float *x, __global float *y, const int rows, const int classes) {
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float *row = x + (long)r * classes;
    float m = row[0];
    for (int j = 1; j < classes; j++) m = fmax(m, row[j]);
    float total = 0.0f;
    for (int j = 0; j < classes; j++) total += exp(row[j] - m);
    const float shift = m + log(total);
    for (int j = 0; j < classes; j++) y[(long)r * classes + j] = row[j] - shift;
}
