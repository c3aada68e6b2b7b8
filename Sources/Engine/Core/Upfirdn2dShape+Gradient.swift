// Upfirdn2dShape: validation and the shape of the input-gradient op.
//
// Semantics (NVlabs torch_utils/ops/upfirdn2d.py `_upfirdn2d_ref`), per plane and axis:
//   1. upsample by inserting `up - 1` zeros after every sample,
//   2. pad with `pad0` / `pad1` zeros (negative values crop),
//   3. correlate with the filter, flipped first unless `flipFilter` (so `false` = true convolution),
//   4. multiply by `gain`,
//   5. keep every `down`-th sample starting at 0.
// NVlabs scales the filter by gain^(ndim/2) instead; for a 2-D filter (and for its separable 1-D
// path, which applies sqrt(gain) twice) that is the same as multiplying the output by `gain`, which is
// what every backend does here.

extension Upfirdn2dShape {
    /// Number of input elements, `planes·inHeight·inWidth`.
    public var inputCount: Int { planes * inHeight * inWidth }
    /// Number of filter taps, `filterH·filterW`.
    public var filterCount: Int { filterH * filterW }

    /// The op that computes `dx = ∂(Σ dy·upfirdn2d(x))/∂x` from `dy` (NVlabs `_upfirdn2d_cuda` backward):
    /// up and down swapped, the filter flip toggled, the same gain, and pads
    /// `p0' = f − p0 − 1`, `p1' = in·up − out·down + p0 − up + 1` per axis.
    /// Its input is `[planes, outHeight, outWidth]` of `shape`; its output is `[planes, inHeight, inWidth]`.
    public static func gradient(of shape: Upfirdn2dShape) -> Upfirdn2dShape {
        var g = shape
        g.inHeight = shape.outHeight
        g.inWidth = shape.outWidth
        g.upX = shape.downX; g.downX = shape.upX
        g.upY = shape.downY; g.downY = shape.upY
        g.padX0 = shape.filterW - shape.padX0 - 1
        g.padX1 = shape.inWidth * shape.upX - shape.outWidth * shape.downX + shape.padX0 - shape.upX + 1
        g.padY0 = shape.filterH - shape.padY0 - 1
        g.padY1 = shape.inHeight * shape.upY - shape.outHeight * shape.downY + shape.padY0 - shape.upY + 1
        g.flipFilter = !shape.flipFilter
        return g
    }

    /// The shape of the input-gradient op (see `gradient(of:)`).
    public var gradient: Upfirdn2dShape { Upfirdn2dShape.gradient(of: self) }

    /// Checks that factors and filter are positive and the output is non-empty; throws
    /// `shapeMismatch` naming `op`.
    public func validate(_ op: String) throws {
        guard planes >= 0, inHeight > 0, inWidth > 0, filterH > 0, filterW > 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "non-positive dimension in \(self)")
        }
        guard upX > 0, upY > 0, downX > 0, downY > 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "up/down factors must be >= 1 in \(self)")
        }
        let paddedW = inWidth * upX + padX0 + padX1, paddedH = inHeight * upY + padY0 + padY1
        guard paddedW >= filterW, paddedH >= filterH else {
            throw EngineError.shapeMismatch(op: op, detail: "padded input \(paddedH)x\(paddedW) smaller than filter \(filterH)x\(filterW)")
        }
    }

    /// `validate(op)` plus buffer capacity checks.
    func validate(_ op: String, input: any Buffer, filter: any Buffer, output: any Buffer) throws {
        try validate(op)
        guard input.count >= inputCount, filter.count >= filterCount, output.count >= outputCount else {
            throw EngineError.shapeMismatch(
                op: op, detail: "buffers hold \(input.count)/\(filter.count)/\(output.count) floats, need input \(inputCount), filter \(filterCount), output \(outputCount)")
        }
    }
}

/// One output sample's taps along one axis: inputs `first ..< first + count` (all in range) meet the
/// correlation taps `k0, k0 + up, …` of the (already flipped) filter. Used by the CPU backend; upfirdn2d.cl
/// does the same arithmetic per work-item.
struct UpfirdnTaps {
    var first: Int
    var k0: Int
    var count: Int

    /// Taps of output `o` for an axis with input length `n`, factors `up`/`down`, leading pad `pad0` and
    /// filter length `f`. Padded position `o·down + k` holds input `i` when `o·down + k − pad0 = i·up`.
    init(output o: Int, inputLength n: Int, up: Int, down: Int, pad0: Int, filter f: Int) {
        let base = o * down - pad0                         // upsampled position under tap k = 0
        var i = UpfirdnTaps.ceilDiv(base, up)              // first input at or after it
        var k = i * up - base                              // its tap index, 0 <= k < up
        if i < 0 {                                         // skip inputs left of the image
            k += -i * up
            i = 0
        }
        let last = min(n - 1, UpfirdnTaps.floorDiv(base + f - 1, up))
        first = i
        k0 = k
        count = k < f ? max(0, last - i + 1) : 0
    }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
}
