// upfirdn2d (NVlabs torch_utils/ops/upfirdn2d `_upfirdn2d_ref`), per plane of [planes, inH, inW]:
//   1. upsample by inserting UP-1 zeros after every sample, 2. pad by padX0/padX1, padY0/padY1
//   (negative crops), 3. correlate with the filter (reversed first unless `flip`, i.e. flip == 0 is a
//   true convolution), 4. multiply by gain, 5. keep every DOWN-th sample starting at 0.
// The gradient w.r.t. the input is this same kernel with another shape (Upfirdn2dShape.gradient(of:)).
//
// Polyphase: output o along an axis sits over upsampled positions b = o*DOWN - pad0 + k, k < F. Only
// positions that are multiples of UP hold input samples, so the taps visited are k0, k0+UP, ... with
// input i0 = ceil(b / UP), k0 = i0*UP - b: NT = ceil(F / UP) taps, never a loop over inserted zeros.
//
// Build options: -D UP_X, UP_Y, DOWN_X, DOWN_Y (factors) and FW, FH (filter size); both kernels below
// share one program per option set.

#define NTX ((FW + UP_X - 1) / UP_X)
#define NTY ((FH + UP_Y - 1) / UP_Y)

#define MAX_TILED_TAPS 1024

INLINE int floor_div(int a, int b) { return a >= 0 ? a / b : -((b - 1 - a) / b); }
INLINE int ceil_div(int a, int b) { return -floor_div(-a, b); }

// One work-group of LX × LY × LZ work-items computes a (LX·px) × (LY·py) output tile of each of LZ
// planes. It stages the input region under that tile (tinH × tinW per plane, zeros outside the image)
// and the correlation weights in local memory; work-item (lx, ly) then computes the outputs
// (ox0 + lx + i·LX, oy0 + ly + j·LY), so stores of neighbouring work-items are contiguous.
// The tile geometry is a launch argument (tile: LZ·tinH·tinW floats of local memory), so one program
// per (up, down, filter size) serves every image size.
#if FH * FW <= MAX_TILED_TAPS   // keep the static weight array small; larger filters use upfirdn2d_direct
__kernel void upfirdn2d_tiled(__global const float *x, __global const float *f, __global float *y,
                              const int planes, const int inH, const int inW, const int outH, const int outW,
                              const int padX0, const int padY0, const int flip, const float gain, const int planeOffset,
                              __local float *tile, const int px, const int py, const int tinW, const int tinH) {
    __local float wts[FH * FW];   // [FH, FW] correlation weights
    const int LX = get_local_size(0), LY = get_local_size(1), LZ = get_local_size(2);
    const int lx = get_local_id(0), ly = get_local_id(1), lz = get_local_id(2);
    const int lid = (lz * LY + ly) * LX + lx, threads = LX * LY * LZ;
    const int plane0 = planeOffset + (int)get_group_id(2) * LZ;
    const int ox0 = (int)get_group_id(0) * (LX * px), oy0 = (int)get_group_id(1) * (LY * py);
    const int ix0 = ceil_div(ox0 * DOWN_X - padX0, UP_X);   // first input column the tile reads
    const int iy0 = ceil_div(oy0 * DOWN_Y - padY0, UP_Y);   // first input row

    // Reversing the flat [FH, FW] array reverses both axes.
    for (int k = lid; k < FH * FW; k += threads) wts[k] = flip ? f[k] : f[FH * FW - 1 - k];
    // The LX × LY work-items of plane lz stage that plane's tile, row by row (coalesced reads).
    const int plane = plane0 + lz;
    __global const float *xp = x + (size_t)min(plane, planes - 1) * inH * inW;   // [inH, inW]
    __local float *own = tile + lz * tinH * tinW;   // [tinH, tinW]
    for (int r = ly; r < tinH; r += LY) {
        const int iy = iy0 + r;
        const bool rowInside = plane < planes && iy >= 0 && iy < inH;
        for (int c = lx; c < tinW; c += LX) {
            const int ix = ix0 + c;
            own[r * tinW + c] = rowInside && ix >= 0 && ix < inW ? xp[iy * inW + ix] : 0.0f;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    if (plane >= planes) return;
    __global float *dst = y + (size_t)plane * outH * outW;
    for (int j = 0; j < py; j++) {
        const int oy = oy0 + ly + j * LY;
        if (oy >= outH) break;
        const int by = oy * DOWN_Y - padY0;
        const int iy = ceil_div(by, UP_Y);
        const int ky0 = iy * UP_Y - by;
        __local const float *rows = own + (iy - iy0) * tinW;
        for (int i = 0; i < px; i++) {
            const int ox = ox0 + lx + i * LX;
            if (ox >= outW) break;
            const int bx = ox * DOWN_X - padX0;
            const int ix = ceil_div(bx, UP_X);
            const int kx0 = ix * UP_X - bx;
            __local const float *win = rows + (ix - ix0);   // input under tap kx0, ky0
            float acc = 0.0f;
#pragma unroll
            for (int ty = 0; ty < NTY; ty++) {
                const int ky = ky0 + ty * UP_Y;
                if (FH % UP_Y == 0 || ky < FH) {
#pragma unroll
                    for (int tx = 0; tx < NTX; tx++) {
                        const int kx = kx0 + tx * UP_X;
                        if (FW % UP_X == 0 || kx < FW) acc += win[ty * tinW + tx] * wts[ky * FW + kx];
                    }
                }
            }
            dst[oy * outW + ox] = acc * gain;
        }
    }
}
#endif

// Fallback for filters too large to stage in local memory: one work-item per output sample, reading
// input and filter from global memory. Global size [outW, outH, planes in this launch].
__kernel void upfirdn2d_direct(__global const float *x, __global const float *f, __global float *y,
                               const int planes, const int inH, const int inW, const int outH, const int outW,
                               const int padX0, const int padY0, const int flip, const float gain, const int planeOffset) {
    const int ox = get_global_id(0), oy = get_global_id(1);
    const int plane = planeOffset + (int)get_global_id(2);
    if (ox >= outW || oy >= outH || plane >= planes) return;
    __global const float *src = x + (size_t)plane * inH * inW;
    const int bx = ox * DOWN_X - padX0, by = oy * DOWN_Y - padY0;
    const int ix0 = ceil_div(bx, UP_X), iy0 = ceil_div(by, UP_Y);
    const int kx0 = ix0 * UP_X - bx, ky0 = iy0 * UP_Y - by;
    float acc = 0.0f;
    for (int j = 0; j < NTY; j++) {
        const int ky = ky0 + j * UP_Y, iy = iy0 + j;
        if (ky >= FH || iy < 0 || iy >= inH) continue;
        for (int i = 0; i < NTX; i++) {
            const int kx = kx0 + i * UP_X, ix = ix0 + i;
            if (kx >= FW || ix < 0 || ix >= inW) continue;
            const int k = ky * FW + kx;
            acc += src[iy * inW + ix] * f[flip ? k : FH * FW - 1 - k];
        }
    }
    y[((size_t)plane * outH + oy) * outW + ox] = acc * gain;
}
