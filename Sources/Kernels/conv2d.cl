// conv2d kernels: forward, grad-input and grad-weight as implicit GEMMs (no im2col buffer).
//
// Every kernel computes one TM x TN tile of a per-group matrix product C = A·B with a K-loop in
// steps of TK. Both operand tiles are gathered straight from the NCHW tensors into local memory
// (zero outside the image or past a tile edge); each work-item keeps a WM x WN block of C in
// registers and prefetches the next K-step's global elements into registers while it multiplies
// the current one. One work-group per (column tile, row tile, group[, split]).
//
//   conv2d_fwd          C = y[:, g]  rows o  `[O/G]`,  cols (n, oy, ox),      K = (c, ky, kx)
//   conv2d_grad_input   C = dx[:, g] rows c  `[C/G]`,  cols (n, jy, jx) of one stride phase,
//                       K = (o, ky, kx) restricted to the taps that reach that phase (gather, no atomics)
//   conv2d_grad_weight  C = dw[g]    rows o  `[O/G]`,  cols (c, ky, kx),      K = (n, oy, ox), optionally
//                       split over K into partial sums that conv2d_sum_splits adds (no atomics)
// Each kernel multiplies its result by the runtime argument weightGain in the store (the equalized learning rate's
// 1/√fan-in: the kernels compute with weightGain·w, and grad-weight returns weightGain·corr(x, dy)).
//
// Build options (all required):
//   KH, KW, STRIDE   kernel height, width and stride
//   TK               K-step
//   RX, RY           work-group of RX*RY work-items (launched 1-D), RX along columns
//   VM, CM, VN, CN   register block: CM chunks of VM consecutive rows, CN chunks of VN consecutive
//                    columns (VM, VN in {1, 2, 4}); tile TM = RY*VM*CM rows, TN = RX*VN*CN columns
// Optional: UNROLL_K   fully unroll the K-step (set on GPUs; CPU drivers such as PoCL compile much
//                      faster without it and vectorise across work-items anyway)
//           DOUBLE_BUFFER  two local tiles, one barrier per K-step instead of two (K_STEPS below); the host sets
//                      it when twice the tile fits the device's local memory (TileStaging). Same sums, same bits.
//           FWD_VEC_A, GW_VEC_A  float4 loads of A (the forward's weights, contiguous along K = (c, ky, kx); grad-weight's
//                      dy, contiguous along (oy, ox)): LOADS_A/4 vector loads per K-step instead of LOADS_A scalars.
//                      The host sets them when K (forward) or outH·outW (grad-weight) is a multiple of 4 and the
//                      tile's LOADS_A is: every vector is then 16-byte aligned and wholly inside or outside A.
//           IN_SCALE   per-(sample, input channel) scale inScale `[N, C]`, an extra kernel argument:
//                      fwd and grad-weight multiply each gathered x[n, c] by inScale[n, c] in the load,
//                      grad-input multiplies dx[n, c] by it in the store
//           OUT_SCALE  per-(sample, output channel) scale outScale `[N, O]`, an extra kernel argument after
//                      inScale: fwd multiplies y[n, o] by it in the store, grad-input and grad-weight
//                      multiply each gathered dy[n, o] by it in the load
//           EPILOGUE   (forward) bias_act in the store: y = clamp(act(v + bias[o])·gain, ±clamp) of the stored
//                      value v, with EP_BIAS = 0/1 and EP_ACT = 0 (linear) / 1 (leaky ReLU), and the arguments
//                      bias, alpha, gain, clamp (< 0: none) after the scales: the same operations in the same
//                      order as bias_act_fwd on the stored output, so the same bits (no contraction here).
//           TF32_MMA, TF32_EMULATE  (opt-in `--tf32`) the tile's products on NVIDIA's tensor cores in TF32, or the
//                      emulation of that instruction (tf32.cl, prepended by the host; see "TF32" below).
// With both, the three kernels are the forward, grad-input and grad-weight of
// y[n, o] = outScale[n, o]·Σ_{c, k} w[o, c, k]·inScale[n, c]·x[n, c, …] (the non-fused StyleGAN2 modconv).
//
// Index maps without per-element divisions. A gathered element's flat index (a K index, or a tile row of
// grad-weight's B) is a mixed-radix number: (c, ky, kx) with radices (KH, KW), (o, tky, tkx) with the
// phase's runtime tap counts (nky, nkx), or (n, oy, ox) with (outH, outW). Each is kept decomposed in a
// Cursor {k, hi, mid, lo} and moved by a fixed step d with cursor_add: add the step's own decomposition
// digit by digit, then one compare-and-carry per digit (exact because both operands are normalised).
// Runtime divisions (cursor_at) run only before the K-loop, once per work-item and step size:
//   k fast loads      every element t of a work-item has the same k = kt + lid % TK; one cursor, moved by
//                     TK per K-step (ADVANCE).
//   column fast loads element t has k = kt + lid / TN + t·NT/TN, so consecutive elements of one K-step and
//                     the first element of the next are all NT/TN apart (LOADS_B·NT/TN = TK). grad-input
//                     (runtime radices): one cursor, moved by NT/TN after each element (NEXT_B). Forward
//                     (radices KH, KW, compile-time): decomposed directly by cursor_at, whose divisions by
//                     constants compile to multiply-shifts (a cursor there measured slower on PoCL).
//   grad-weight rows  B row q = n0 + lid / TK + t·NT/TK = (c, ky, kx): a cursor reset at each K-step and
//                     moved by NT/TK after each element.
// Only the row and column divisions of the stores (once per output element) remain.

#define NT (RX * RY)
#define TM (RY * VM * CM)
#define TN (RX * VN * CN)
#define WM (VM * CM)
#define WN (VN * CN)
#define KK (KH * KW)
// Local row strides, padded against bank conflicts on the transposing stores, kept multiples of 4 (with TF32 by 8:
// tf32.cl's fragment reads then hit distinct banks).
#ifdef TF32
#define LDA (TM + 8)
#define LDB (TN + 8)
#else
#define LDA (TM + 4)
#define LDB (TN + 4)
#endif
// Elements of the A and B tiles each work-item loads per K-step.
#define LOADS_A (TM * TK / NT)
#define LOADS_B (TN * TK / NT)

#if (TM * TK) % NT != 0 || (TN * TK) % NT != 0 || NT % TK != 0 || NT % TN != 0
#error "conv2d tile configuration: NT must divide TM*TK and TN*TK and be a multiple of TK and TN"
#endif

#if VM == 4
typedef float4 floatM;
#elif VM == 2
typedef float2 floatM;
#else
typedef float floatM;
#endif
#if VN == 4
typedef float4 floatN;
#elif VN == 2
typedef float2 floatN;
#else
typedef float floatN;
#endif

// Register block row i (0..<WM) -> tile row; column j (0..<WN) -> tile column.
#define TILE_ROW(i, ty) (((i) / VM) * RY * VM + (ty) * VM + (i) % VM)
#define TILE_COL(j, tx) (((j) / VN) * RX * VN + (tx) * VN + (j) % VN)

// acc += As[k, rows of ty] ⊗ Bs[k, cols of tx] for k in 0..<TK. The vector types make each
// chunk one aligned local load.
INLINE void mac_tile(__local const floatM *As, __local const floatN *Bs, float *acc, const int tx, const int ty) {
#ifdef UNROLL_K
    #pragma unroll
#endif
    for (int k = 0; k < TK; k++) {
        float a[WM], b[WN];
        #pragma unroll
        for (int q = 0; q < CM; q++) {
            floatM v = As[(k * LDA + q * RY * VM + ty * VM) / VM];
#if VM == 1
            a[q] = v;
#elif VM == 2
            a[q * 2] = v.x; a[q * 2 + 1] = v.y;
#else
            a[q * 4] = v.x; a[q * 4 + 1] = v.y; a[q * 4 + 2] = v.z; a[q * 4 + 3] = v.w;
#endif
        }
        #pragma unroll
        for (int q = 0; q < CN; q++) {
            floatN v = Bs[(k * LDB + q * RX * VN + tx * VN) / VN];
#if VN == 1
            b[q] = v;
#elif VN == 2
            b[q * 2] = v.x; b[q * 2 + 1] = v.y;
#else
            b[q * 4] = v.x; b[q * 4 + 1] = v.y; b[q * 4 + 2] = v.z; b[q * 4 + 3] = v.w;
#endif
        }
        #pragma unroll
        for (int i = 0; i < WM; i++) {
            #pragma unroll
            for (int j = 0; j < WN; j++) acc[i * WN + j] = mad(a[i], b[j], acc[i * WN + j]);
        }
    }
}

// The register block of the stores: ACC_ROWS x ACC_COLS accumulators acc[i·ACC_COLS + j] of tile row ACC_ROW(i) and
// column ACC_COL(j), and MAC_TILE(s) adding local stage s's product into them.
#ifdef TF32
// TF32 (tf32.cl): the NT work-items are NT/32 warps laid out by tf32.cl's rule over the TM x TN tile, each owning MT
// m16 by NT8 n8 tiles of mma.m16n8k8 (MT·NT8·4 = TM·TN/NT accumulators, as in the fp32 path).
#define MT TF32_MT(TM, NT)
#define NT8 TF32_NT8(TM, TN, NT)
#if !TF32_LAYOUT_OK(TM, TN, NT) || TK % 8 != 0 || 4 * MT * NT8 != WM * WN
#error "TF32 conv2d tile: whole warps of whole m16 x n8 tiles, TK a multiple of 8, TM·TN/NT accumulators"
#endif
#define WROW TF32_WROW(TM, NT, lid)
#define WCOL TF32_WCOL(TM, TN, NT, lid)
#define ACC_ROWS (2 * MT)
#define ACC_COLS (2 * NT8)
#define ACC_ROW(i) (WROW + TF32_ROW(i, lid))
#define ACC_COL(j) (WCOL + TF32_COL(j, lid))
#define MAC_TILE(s) mac_tf32(Asf + (s) * (TK * LDA), Bsf + (s) * (TK * LDB), LDA, LDB, TK, WROW, WCOL, acc, MT, NT8, X, lid)
#define TF32_EXCHANGE_X TF32_EXCHANGE(NT, MT, NT8)
#else
#define ACC_ROWS WM
#define ACC_COLS WN
#define ACC_ROW(i) TILE_ROW(i, ty)
#define ACC_COL(j) TILE_COL(j, tx)
#define MAC_TILE(s) mac_tile(As + (s) * (TK * LDA / VM), Bs + (s) * (TK * LDB / VN), acc, tx, ty)
#define TF32_EXCHANGE_X
#endif

// A flat index k = (hi·nMid + mid)·nLo + lo kept decomposed (see the top of the file).
typedef struct { int k, hi, mid, lo; } Cursor;

// The decomposition of k (runtime divisions: before the K-loop only). nMid, nLo >= 1.
INLINE Cursor cursor_at(const int k, const int nMid, const int nLo) {
    Cursor c;
    c.k = k;
    c.lo = k % nLo;
    c.mid = (k / nLo) % nMid;
    c.hi = (k / nLo) / nMid;
    return c;
}

// a + d with a and d normalised (mid < nMid, lo < nLo): digit sums, one carry each.
INLINE Cursor cursor_add(Cursor a, const Cursor d, const int nMid, const int nLo) {
    a.k += d.k; a.hi += d.hi; a.mid += d.mid; a.lo += d.lo;
    if (a.lo >= nLo) { a.lo -= nLo; a.mid++; }
    if (a.mid >= nMid) { a.mid -= nMid; a.hi++; }
    return a;
}

// The K-loop shared by the kernels. Before it: tx, ty, lid, the K range [kBegin, kEnd) and
// LOAD_A(t, kTile) / LOAD_B(t, kTile) giving element t of this work-item's share of the tile starting
// at kTile, with STORE_A(t) / STORE_B(t) their local positions (k·LDx + row). The loads of one tile run
// t = 0, 1, … in order, tiles in increasing k; NEXT_B() runs after each B element and ADVANCE() after
// each tile's loads, so the loads may read cursors that these two move (see the top of the file).
// A's share is loaded as scalars (A_SHARE SCALAR: LOAD_A / STORE_A) or, where the kernel's FWD_VEC_A / GW_VEC_A
// is set, as float4 (A_SHARE VEC: LOAD_A4(t, kTile) is the vector of k = kTile + KV_K … + 3 of tile row KV_ROW(t),
// stored transposed). Each kernel defines A_SHARE before K_LOOP.
#define LOAD_TILE(kt)                                                                                \
    A_OP(A_SHARE, LOAD)(kt)                                                                         \
    _Pragma("unroll") for (int t = 0; t < LOADS_B; t++) { rb[t] = LOAD_B(t, kt); NEXT_B(); }       \
    ADVANCE();

#define A_OP(share, op) A_OP_(share, op)
#define A_OP_(share, op) A_##share##_##op
#define A_SCALAR_REGS float ra[LOADS_A];
#define A_SCALAR_LOAD(kt) _Pragma("unroll") for (int t = 0; t < LOADS_A; t++) ra[t] = LOAD_A(t, kt);
#define A_SCALAR_STORE(s) _Pragma("unroll") for (int t = 0; t < LOADS_A; t++) Asf[(s) * (TK * LDA) + STORE_A(t)] = LOCAL_VALUE(ra[t]);
#define KV_K (4 * (lid % (TK / 4)))
#define KV_ROW(t) (lid / (TK / 4) + (t) * (NT / (TK / 4)))
#define A_VEC_REGS float4 ra[LOADS_A / 4];
#define A_VEC_LOAD(kt) _Pragma("unroll") for (int t = 0; t < LOADS_A / 4; t++) ra[t] = LOAD_A4(t, kt);
#define A_VEC_STORE(s)                                                                               \
    _Pragma("unroll") for (int t = 0; t < LOADS_A / 4; t++) {                                      \
        __local float *a_ = Asf + (s) * (TK * LDA) + KV_K * LDA + KV_ROW(t);                       \
        const float4 v_ = LOCAL_VALUE4(ra[t]);                                                      \
        a_[0] = v_.x; a_[LDA] = v_.y; a_[2 * LDA] = v_.z; a_[3 * LDA] = v_.w;                     \
    }
#if (defined(FWD_VEC_A) || defined(GW_VEC_A)) && (LOADS_A % 4 != 0 || TK % 4 != 0 || NT % (TK / 4) != 0)
#error "float4 A loads need LOADS_A and TK multiples of 4 and NT a multiple of TK/4"
#endif

#ifdef DOUBLE_BUFFER
// Two local tiles: tile i+1, prefetched into registers during tile i's multiply, is stored into the other buffer
// right after it (that buffer was last read before the previous barrier), so one barrier per K-step suffices.
#define STAGES 2
#else
#define STAGES 1
#endif

#define STORE_TILE(s)                                                                                \
    A_OP(A_SHARE, STORE)(s)                                                                         \
    _Pragma("unroll") for (int t = 0; t < LOADS_B; t++) Bsf[(s) * (TK * LDB) + STORE_B(t)] = LOCAL_VALUE(rb[t]);

#define K_LOOP()                                                                                     \
    __local floatM As[STAGES * TK * LDA / VM];                                                      \
    __local floatN Bs[STAGES * TK * LDB / VN];                                                      \
    __local float *Asf = (__local float *)As;                                                      \
    __local float *Bsf = (__local float *)Bs;                                                      \
    TF32_EXCHANGE_X                                                                                 \
    float acc[WM * WN];                                                                             \
    _Pragma("unroll") for (int e = 0; e < WM * WN; e++) acc[e] = 0.0f;                             \
    A_OP(A_SHARE, REGS)                                                                             \
    float rb[LOADS_B];                                                                              \
    if (kBegin < kEnd) { LOAD_TILE(kBegin) }                                                        \
    K_STEPS()

#if STAGES == 2
#define K_STEPS()                                                                                    \
    if (kBegin < kEnd) { STORE_TILE(0) }                                                            \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
    for (int k0 = kBegin, cur = 0; k0 < kEnd; k0 += TK, cur ^= 1) {                                \
        const bool more = k0 + TK < kEnd;                                                           \
        if (more) { LOAD_TILE(k0 + TK) }                                                            \
        MAC_TILE(cur);                                                                              \
        if (more) { STORE_TILE(cur ^ 1) }                                                           \
        barrier(CLK_LOCAL_MEM_FENCE);                                                               \
    }
#else
#define K_STEPS()                                                                                    \
    for (int k0 = kBegin; k0 < kEnd; k0 += TK) {                                                   \
        STORE_TILE(0)                                                                               \
        barrier(CLK_LOCAL_MEM_FENCE);                                                               \
        if (k0 + TK < kEnd) { LOAD_TILE(k0 + TK) }                                                  \
        MAC_TILE(0);                                                                                \
        barrier(CLK_LOCAL_MEM_FENCE);                                                               \
    }
#endif

// Work-item share of a tile, "k fast": element t is (row lid / TK + t·NT/TK, k lid % TK).
#define KF_ROW(t) (lid / TK + (t) * (NT / TK))
#define KF_K (lid % TK)
// "column fast": element t is (k lid / TN + t·NT/TN, column lid % TN).
#define CF_K(t) (lid / TN + (t) * (NT / TN))
#define CF_COL (lid % TN)

#pragma OPENCL FP_CONTRACT OFF

// The optional scale arguments and their factors (1 when the option is off).
#ifdef IN_SCALE
#define IN_SCALE_ARG , __global const float *inScale
#define IN_FACTOR(i) inScale[i]
#else
#define IN_SCALE_ARG
#define IN_FACTOR(i) 1.0f
#endif
#ifdef OUT_SCALE
#define OUT_SCALE_ARG , __global const float *outScale
#define OUT_FACTOR(i) outScale[i]
#else
#define OUT_SCALE_ARG
#define OUT_FACTOR(i) 1.0f
#endif

// The forward's optional bias_act epilogue (bias_act.cl's forward without noise; act_gain_clamp is in
// strided_index.cl, shared by every family).
#ifdef EPILOGUE
#define EPILOGUE_ARG , __global const float *epBias, const float epAlpha, const float epGain, const float epClamp
INLINE float epilogue(float v, __global const float *epBias, const int o, const float alpha, const float gain,
                      const float clampv) {
#if EP_BIAS
    v += epBias[o];
#endif
    return act_gain_clamp(v, EP_ACT == 1, alpha, gain, clampv);
}
#define STORE_VALUE(v, o) epilogue(v, epBias, o, epAlpha, epGain, epClamp)
#else
#define EPILOGUE_ARG
#define STORE_VALUE(v, o) (v)
#endif

// MARK: - forward

INLINE float load_w_fwd(__global const float *wg, const int m, const int k, const int Og, const int K) {
    return (m < Og && k < K) ? wg[m * K + k] : 0.0f;
}

// w[m, k … k+3] (FWD_VEC_A: K and k multiples of 4, so the vector is 16-byte aligned and wholly inside or outside).
INLINE float4 load_w4_fwd(__global const float *wg, const int m, const int k, const int Og, const int K) {
    return (m < Og && k < K) ? *(__global const float4 *)(wg + m * K + k) : (float4)(0.0f);
}

// x[c, iy0 + ky, ix0 + kx]·sc[c] for k = (c, ky, kx) = kc, 0 outside the image or past K (sc: this sample's
// and group's inScale row; not read without IN_SCALE).
INLINE float load_x_fwd(__global const float *xg, __global const float *sc, const Cursor kc, const bool colValid,
                        const int iy0, const int ix0, const int K, const int H, const int W) {
    if (!colValid || kc.k >= K) return 0.0f;
    const int c = kc.hi, iy = iy0 + kc.mid, ix = ix0 + kc.lo;
#ifdef IN_SCALE
    return ((unsigned)iy < (unsigned)H && (unsigned)ix < (unsigned)W) ? xg[(c * H + iy) * W + ix] * sc[c] : 0.0f;
#else
    return ((unsigned)iy < (unsigned)H && (unsigned)ix < (unsigned)W) ? xg[(c * H + iy) * W + ix] : 0.0f;
#endif
}

// y[n, g·Og + o, oy, ox] = Σ_{c, ky, kx} w[g·Og + o, c, ky, kx] · x[n, g·Cg + c, oy·S − padH + ky, ox·S − padW + kx]
// (times outScale[n, g·Og + o] and with x times inScale[n, g·Cg + c] under OUT_SCALE / IN_SCALE), over the K range
// of split s = group_id(2) / G: [s·kChunk, (s+1)·kChunk) ∩ [0, K), kChunk a multiple of TK. The result of split s
// goes to y + s·splitStride (one split: kChunk ≥ K, splitStride 0). With several splits y is a scratch buffer of
// partial sums `[splits, N, O, outH, outW]` that conv2d_sum_splits adds in split order (bit-reproducible; the sum
// of scaled partials is the scaled sum): for the 4×4 and 8×8 layers, whose few columns (N·16, N·64) give too few
// work-groups for a long K = C·KH·KW. Under EPILOGUE (one split only) the stored value goes through bias_act.
// Launch: global (tilesCols·NT, tilesRows, G·splits), local (NT, 1, 1).
__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void conv2d_fwd(__global const float *x, __global const float *w, __global float *y,
                         const int N, const int C, const int H, const int W, const int O,
                         const int outH, const int outW, const int G, const int padH, const int padW, const float weightGain,
                         const int kChunk, const int splitStride IN_SCALE_ARG OUT_SCALE_ARG EPILOGUE_ARG) {
    const int lid = get_local_id(0), tx = lid % RX, ty = lid / RX;
    const int g = get_group_id(2) % G, split = get_group_id(2) / G;
    const int Cg = C / G, Og = O / G, K = Cg * KK, P = outH * outW, cols = N * P;
    const int m0 = get_group_id(1) * TM, n0 = get_group_id(0) * TN;
    const int kBegin = split * kChunk, kEnd = min(K, kBegin + kChunk);
    y += (size_t)split * splitStride;

    // A = w[g] `[Og, K]`, loaded k fast (contiguous along K).
    __global const float *wg = w + (size_t)g * Og * K;
    // B = gathered x, loaded column fast: this work-item always loads tile column CF_COL.
    const int col = n0 + CF_COL;
    const bool colValid = col < cols;
    const int bn = colValid ? col / P : 0, bp = colValid ? col % P : 0;
    const int iy0 = (bp / outW) * STRIDE - padH, ix0 = (bp % outW) * STRIDE - padW;
    __global const float *xg = x + ((size_t)bn * C + (size_t)g * Cg) * H * W;
#ifdef IN_SCALE
    __global const float *sc = inScale + (size_t)bn * C + (size_t)g * Cg;
#else
    __global const float *sc = x;
#endif

    // B's k = (c, ky, kx): divisions by the compile-time KH, KW only (multiply-shifts); cursors measured slower
    // here on PoCL.
#ifdef FWD_VEC_A
#define A_SHARE VEC
#else
#define A_SHARE SCALAR
#endif
#define LOAD_A(t, kt) load_w_fwd(wg, m0 + KF_ROW(t), (kt) + KF_K, Og, K)
#define LOAD_A4(t, kt) load_w4_fwd(wg, m0 + KV_ROW(t), (kt) + KV_K, Og, K)
#define LOAD_B(t, kt) load_x_fwd(xg, sc, cursor_at((kt) + CF_K(t), KH, KW), colValid, iy0, ix0, K, H, W)
#define NEXT_B()
#define ADVANCE()
#define STORE_A(t) (KF_K * LDA + KF_ROW(t))
#define STORE_B(t) (CF_K(t) * LDB + CF_COL)
    K_LOOP()
#undef A_SHARE
#undef LOAD_A
#undef LOAD_A4
#undef LOAD_B
#undef NEXT_B
#undef ADVANCE
#undef STORE_A
#undef STORE_B

#pragma unroll
    for (int j = 0; j < ACC_COLS; j++) {
        const int c = n0 + ACC_COL(j);
        if (c >= cols) continue;
        const int sn = c / P, p = c % P;
        __global float *yc = y + ((size_t)sn * O + (size_t)g * Og) * P + p;
#pragma unroll
        for (int i = 0; i < ACC_ROWS; i++) {
            const int m = m0 + ACC_ROW(i);
            if (m < Og) {
                const float v = acc[i * ACC_COLS + j] * weightGain * OUT_FACTOR((size_t)sn * O + (size_t)g * Og + m);
                yc[(size_t)m * P] = STORE_VALUE(v, g * Og + m);
            }
        }
    }
}

// MARK: - grad-input

// The taps of one stride phase. Input pixel (iy, ix) = (py + S·jy, px + S·jx) is reached by the
// kernel rows ky ≡ py + padH (mod S), i.e. ky = ky0 + S·tky for tky < nky, from output row
// oy = oyb + jy − tky; the same along x. For S = 1 this folds to ky0 = 0, nky = KH, oyb = padH.
typedef struct { int ky0, kx0, nky, nkx, oyb, oxb; } Phase;

INLINE Phase make_phase(const int py, const int px, const int padH, const int padW) {
    Phase f;
    f.ky0 = (py + padH) % STRIDE;
    f.kx0 = (px + padW) % STRIDE;
    f.nky = f.ky0 < KH ? (KH - f.ky0 + STRIDE - 1) / STRIDE : 0;
    f.nkx = f.kx0 < KW ? (KW - f.kx0 + STRIDE - 1) / STRIDE : 0;
    f.oyb = (py + padH - f.ky0) / STRIDE;
    f.oxb = (px + padW - f.kx0) / STRIDE;
    return f;
}

// w[g·Og + o, c, ky, kx] for k = (o, tky, tkx) = kc.
INLINE float load_w_gi(__global const float *wg, const Phase f, const int c, const Cursor kc, const int Cg, const int K) {
    if (c >= Cg || kc.k >= K) return 0.0f;
    const int ky = f.ky0 + STRIDE * kc.mid, kx = f.kx0 + STRIDE * kc.lo;
    return wg[(kc.hi * Cg + c) * KK + ky * KW + kx];
}

// dy[n, g·Og + o, oyb + jy − tky, oxb + jx − tkx]·so[o] for k = (o, tky, tkx) = kc, 0 outside dy (so: this
// sample's and group's outScale row; not read without OUT_SCALE).
INLINE float load_dy_gi(__global const float *dyg, __global const float *so, const Phase f, const Cursor kc, const bool colValid,
                        const int jy, const int jx, const int K, const int outH, const int outW) {
    if (!colValid || kc.k >= K) return 0.0f;
    const int o = kc.hi, oy = f.oyb + jy - kc.mid, ox = f.oxb + jx - kc.lo;
#ifdef OUT_SCALE
    return ((unsigned)oy < (unsigned)outH && (unsigned)ox < (unsigned)outW) ? dyg[(o * outH + oy) * outW + ox] * so[o] : 0.0f;
#else
    return ((unsigned)oy < (unsigned)outH && (unsigned)ox < (unsigned)outW) ? dyg[(o * outH + oy) * outW + ox] : 0.0f;
#endif
}

// dx[n, g·Cg + c, iy, ix] = Σ_{o, ky, kx : iy = oy·S − padH + ky, ix = ox·S − padW + kx} w[g·Og + o, c, ky, kx] · dy[n, g·Og + o, oy, ox]
// for the pixels of stride phase (py, px); every pixel of the phase is written (0 when no tap reaches it).
// Under OUT_SCALE dy[n, o] is multiplied by outScale[n, o], under IN_SCALE dx[n, c] by inScale[n, c].
// All stride phases in one launch: group_id(2) = (phase·splits + split)·G + g, phase = py·phasesX + px over the
// phasesY × phasesX phases (min(S, H) × min(S, W)); tiles past a narrower phase's columns load zeros and store
// nothing.
// Split-K as in the forward: split s sums the K range [s·kChunk, (s+1)·kChunk) ∩ [0, K) of its phase, kChunk the
// phase's K in `splits` chunks of whole K-steps, into dx + s·splitStride (an empty range writes zeros), for
// conv2d_sum_splits to add in split order; one split: kChunk ≥ K, splitStride 0. Every phase writes the same
// scratch `[splits, N, C, H, W]`, so one sum covers them all.
// global (tilesCols·NT, tilesRows, G·splits·phases) with tilesCols those of phase (0, 0), the widest; local (NT, 1, 1);
// cols = N·phH·phW.
__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void conv2d_grad_input(__global const float *dy, __global const float *w, __global float *dx,
                                const int N, const int C, const int H, const int W, const int O,
                                const int outH, const int outW, const int G, const int padH, const int padW, const float weightGain,
                                const int phasesX, const int splits, const int splitStride
                                IN_SCALE_ARG OUT_SCALE_ARG) {
    const int lid = get_local_id(0), tx = lid % RX, ty = lid / RX;
    const int z = get_group_id(2), g = z % G, split = z / G % splits, phase = z / G / splits;
    const int py = phase / phasesX, px = phase % phasesX;
    const int Cg = C / G, Og = O / G, P = outH * outW;
    const Phase f = make_phase(py, px, padH, padW);
    const int K = Og * f.nky * f.nkx;
    const int phH = (H - py + STRIDE - 1) / STRIDE, phW = (W - px + STRIDE - 1) / STRIDE;
    const int phP = phH * phW, cols = N * phP;
    const int m0 = get_group_id(1) * TM, n0 = get_group_id(0) * TN;
    const int kChunk = max(1, (K + splits * TK - 1) / (splits * TK)) * TK;
    const int kBegin = min(K, split * kChunk), kEnd = min(K, kBegin + kChunk);
    dx += (size_t)split * splitStride;

    __global const float *wg = w + (size_t)g * Og * Cg * KK;
    const int col = n0 + CF_COL;
    const bool colValid = col < cols;
    const int bn = colValid ? col / phP : 0, bp = colValid ? col % phP : 0;
    const int jy = bp / phW, jx = bp % phW;
    __global const float *dyg = dy + ((size_t)bn * O + (size_t)g * Og) * P;
#ifdef OUT_SCALE
    __global const float *so = outScale + (size_t)bn * O + (size_t)g * Og;
#else
    __global const float *so = dy;
#endif

    // k = (o, tky, tkx) with the phase's runtime tap counts (at least 1 here so that a phase without taps,
    // K = 0, divides by nothing): A's cursor moves by TK per K-step, B's by NT/TN per element.
    const int nMid = max(f.nky, 1), nLo = max(f.nkx, 1);
    Cursor ka = cursor_at(kBegin + KF_K, nMid, nLo), kb = cursor_at(kBegin + CF_K(0), nMid, nLo);
    const Cursor stepA = cursor_at(TK, nMid, nLo), stepB = cursor_at(NT / TN, nMid, nLo);

#define A_SHARE SCALAR
#define LOAD_A(t, kt) load_w_gi(wg, f, m0 + KF_ROW(t), ka, Cg, K)
#define LOAD_B(t, kt) load_dy_gi(dyg, so, f, kb, colValid, jy, jx, K, outH, outW)
#define NEXT_B() kb = cursor_add(kb, stepB, nMid, nLo)
#define ADVANCE() ka = cursor_add(ka, stepA, nMid, nLo)
#define STORE_A(t) (KF_K * LDA + KF_ROW(t))
#define STORE_B(t) (CF_K(t) * LDB + CF_COL)
    K_LOOP()
#undef A_SHARE
#undef LOAD_A
#undef LOAD_A4
#undef LOAD_B
#undef NEXT_B
#undef ADVANCE
#undef STORE_A
#undef STORE_B

#pragma unroll
    for (int j = 0; j < ACC_COLS; j++) {
        const int c = n0 + ACC_COL(j);
        if (c >= cols) continue;
        const int sn = c / phP, p = c % phP;
        const int iy = py + STRIDE * (p / phW), ix = px + STRIDE * (p % phW);
        __global float *dxc = dx + ((size_t)sn * C + (size_t)g * Cg) * H * W + iy * W + ix;
#pragma unroll
        for (int i = 0; i < ACC_ROWS; i++) {
            const int m = m0 + ACC_ROW(i);
            if (m < Cg) dxc[(size_t)m * H * W] = acc[i * ACC_COLS + j] * weightGain * IN_FACTOR((size_t)sn * C + (size_t)g * Cg + m);
        }
    }
}

// MARK: - grad-weight

// dy[n, g·Og + o, oy, ox]·so[n·O + o] for k = (n, oy, ox) = kc (so: outScale offset to the group; not read
// without OUT_SCALE).
INLINE float load_dy_gw(__global const float *dyg, __global const float *so, const int m, const Cursor kc, const int kEnd,
                        const int Og, const int O, const int outW, const int P) {
    if (m >= Og || kc.k >= kEnd) return 0.0f;
    const int n = kc.hi, p = kc.mid * outW + kc.lo;
#ifdef OUT_SCALE
    return dyg[((size_t)n * O + m) * P + p] * so[(size_t)n * O + m];
#else
    return dyg[((size_t)n * O + m) * P + p];
#endif
}

// dy[n, g·Og + o, p … p+3]·so[n·O + o] for k = (n, p) = kc, a cursor of radix P (GW_VEC_A: P and kEnd multiples of 4,
// so the vector is 16-byte aligned, within one sample, and wholly inside or outside the K range).
INLINE float4 load_dy4_gw(__global const float *dyg, __global const float *so, const int m, const Cursor kc, const int kEnd,
                          const int Og, const int O, const int P) {
    if (m >= Og || kc.k >= kEnd) return (float4)(0.0f);
    const float4 v = *(__global const float4 *)(dyg + ((size_t)kc.hi * O + m) * P + kc.lo);
#ifdef OUT_SCALE
    return v * so[(size_t)kc.hi * O + m];
#else
    return v;
#endif
}

// x[n, g·Cg + c, oy·S − padH + ky, ox·S − padW + kx]·sc[n·C + c] for k = (n, oy, ox) = kc and column
// q = (c, ky, kx) = qc (sc: inScale offset to the group; not read without IN_SCALE).
INLINE float load_x_gw(__global const float *xg, __global const float *sc, const Cursor qc, const Cursor kc, const int kEnd,
                       const int Kc, const int C, const int H, const int W, const int padH, const int padW) {
    if (qc.k >= Kc || kc.k >= kEnd) return 0.0f;
    const int n = kc.hi, c = qc.hi;
    const int iy = kc.mid * STRIDE - padH + qc.mid, ix = kc.lo * STRIDE - padW + qc.lo;
#ifdef IN_SCALE
    return ((unsigned)iy < (unsigned)H && (unsigned)ix < (unsigned)W)
        ? xg[(((size_t)n * C + c) * H + iy) * W + ix] * sc[(size_t)n * C + c] : 0.0f;
#else
    return ((unsigned)iy < (unsigned)H && (unsigned)ix < (unsigned)W) ? xg[(((size_t)n * C + c) * H + iy) * W + ix] : 0.0f;
#endif
}

// dw[g·Og + o, c, ky, kx] = Σ_{n, oy, ox} dy[n, g·Og + o, oy, ox] · x[n, g·Cg + c, oy·S − padH + ky, ox·S − padW + kx]
// over the K range of split s = group_id(2) / G: [s·kChunk, (s+1)·kChunk) ∩ [0, N·P). The result of
// split s goes to out + s·splitStride (splitStride 0 when there is one split and out is dw).
// Under IN_SCALE / OUT_SCALE x[n, c] and dy[n, o] are multiplied by inScale[n, c] and outScale[n, o].
// Launch: global (tilesCols·NT, tilesRows, G·splits), local (NT, 1, 1).
__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void conv2d_grad_weight(__global const float *x, __global const float *dy, __global float *out,
                                 const int N, const int C, const int H, const int W, const int O,
                                 const int outH, const int outW, const int G, const int padH, const int padW, const float weightGain,
                                 const int kChunk, const int splitStride IN_SCALE_ARG OUT_SCALE_ARG) {
    const int lid = get_local_id(0), tx = lid % RX, ty = lid / RX;
    const int g = get_group_id(2) % G, split = get_group_id(2) / G;
    const int Cg = C / G, Og = O / G, Kc = Cg * KK, P = outH * outW;
    const int m0 = get_group_id(1) * TM, n0 = get_group_id(0) * TN;
    const int kBegin = split * kChunk, kEnd = min(N * P, kBegin + kChunk);

    __global const float *dyg = dy + (size_t)g * Og * P;
    __global const float *xg = x + (size_t)g * Cg * H * W;
#ifdef IN_SCALE
    __global const float *sc = inScale + (size_t)g * Cg;
#else
    __global const float *sc = x;
#endif
#ifdef OUT_SCALE
    __global const float *so = outScale + (size_t)g * Og;
#else
    __global const float *so = dy;
#endif

    // k = (n, oy, ox), shared by A and B (both k fast), moved by TK per K-step; B's row q = (c, ky, kx)
    // starts each K-step at qBase and moves by NT/TK per element (compile-time radices and step).
    Cursor kc = cursor_at(kBegin + KF_K, outH, outW);
    const Cursor stepK = cursor_at(TK, outH, outW);
    const Cursor qBase = cursor_at(n0 + KF_ROW(0), KH, KW), stepQ = cursor_at(NT / TK, KH, KW);
    Cursor qc = qBase;
#ifdef GW_VEC_A
    // A's vectors start at k = kBegin + KV_K, decomposed as (n, p) (radices 1, P), moved by TK per K-step.
    Cursor ka = cursor_at(kBegin + KV_K, 1, P);
    const Cursor stepA = cursor_at(TK, 1, P);
#define A_SHARE VEC
#define ADVANCE_A() ka = cursor_add(ka, stepA, 1, P);
#else
#define A_SHARE SCALAR
#define ADVANCE_A()
#endif

#define LOAD_A(t, kt) load_dy_gw(dyg, so, m0 + KF_ROW(t), kc, kEnd, Og, O, outW, P)
#define LOAD_A4(t, kt) load_dy4_gw(dyg, so, m0 + KV_ROW(t), ka, kEnd, Og, O, P)
#define LOAD_B(t, kt) load_x_gw(xg, sc, qc, kc, kEnd, Kc, C, H, W, padH, padW)
#define NEXT_B() qc = cursor_add(qc, stepQ, KH, KW)
#define ADVANCE() { kc = cursor_add(kc, stepK, outH, outW); qc = qBase; ADVANCE_A() }
#define STORE_A(t) (KF_K * LDA + KF_ROW(t))
#define STORE_B(t) (KF_K * LDB + KF_ROW(t))
    K_LOOP()
#undef A_SHARE
#undef LOAD_A
#undef LOAD_A4
#undef LOAD_B
#undef NEXT_B
#undef ADVANCE
#undef ADVANCE_A
#undef STORE_A
#undef STORE_B

    __global float *dst = out + (size_t)split * splitStride + (size_t)g * Og * Kc;
#pragma unroll
    for (int i = 0; i < ACC_ROWS; i++) {
        const int m = m0 + ACC_ROW(i);
        if (m >= Og) continue;
#pragma unroll
        for (int j = 0; j < ACC_COLS; j++) {
            const int q = n0 + ACC_COL(j);
            if (q < Kc) dst[(size_t)m * Kc + q] = acc[i * ACC_COLS + j] * weightGain;
        }
    }
}

// out[i] = Σ_s partial[s·count + i]: the split-K partial sums of conv2d_fwd, conv2d_grad_input and
// conv2d_grad_weight, added in split order (bit-reproducible).
__kernel void conv2d_sum_splits(__global const float *partial, __global float *out, const int count, const int splits) {
    const int i = get_global_id(0);
    if (i >= count) return;
    float sum = 0.0f;
    for (int s = 0; s < splits; s++) sum += partial[(size_t)s * count + i];
    out[i] = sum;
}
