// FIR up/down-sampling of images (NVlabs torch_utils/ops/upfirdn2d), over `Backend.upfirdn2d`, with VJP.

extension Tensor {
    /// upfirdn2d on x `[N, C, H, W]` with a 2-D filter `[fh, fw]`:
    /// 1. upsample by inserting `up − 1` zeros after each pixel; 2. pad by `padding` (x0, x1, y0, y1;
    /// negative crops); 3. convolve with the filter (flipped unless `flipFilter`); 4. multiply by `gain`;
    /// 5. keep every `down`-th pixel.
    public static func upfirdn2d(_ x: Tensor, filter: Tensor, up: Int = 1, down: Int = 1,
                                 padding: (x0: Int, x1: Int, y0: Int, y1: Int) = (0, 0, 0, 0),
                                 flipFilter: Bool = false, gain: Float = 1) throws -> Tensor {
        guard x.rank == 4, filter.rank == 2, up >= 1, down >= 1 else {
            throw EngineError.shapeMismatch(op: "upfirdn2d", detail: "x \(x.shape), filter \(filter.shape), up \(up), down \(down)")
        }
        let s = Upfirdn2dShape(planes: x.shape[0] * x.shape[1], inHeight: x.shape[2], inWidth: x.shape[3], up: up, down: down,
                               pad: padding, filterH: filter.shape[0], filterW: filter.shape[1], flipFilter: flipFilter, gain: gain)
        guard s.outHeight > 0, s.outWidth > 0 else {
            throw EngineError.shapeMismatch(op: "upfirdn2d", detail: "empty output for \(s)")
        }
        let out = try Tensor.empty([x.shape[0], x.shape[1], s.outHeight, s.outWidth], on: x.backend)
        try x.backend.upfirdn2d(s, input: x.buffer, filter: filter.buffer, output: out.buffer)
        let f = filter.detached()
        return out.recorded("upfirdn2d", [x]) { g in
            // The adjoint: upfirdn2d with up/down swapped, the filter flipped, pads moved (NVlabs backward).
            let fw = s.filterW, fh = s.filterH
            let px0 = fw - s.padX0 - 1, py0 = fh - s.padY0 - 1
            let px1 = s.inWidth * s.upX - s.outWidth * s.downX + s.padX0 - s.upX + 1
            let py1 = s.inHeight * s.upY - s.outHeight * s.downY + s.padY0 - s.upY + 1
            guard s.upX == s.upY, s.downX == s.downY else {
                throw EngineError.shapeMismatch(op: "upfirdn2d VJP", detail: "anisotropic up/down")
            }
            let dx = try upfirdn2d(g, filter: f, up: s.downX, down: s.upX, padding: (px0, px1, py0, py1),
                                   flipFilter: !flipFilter, gain: gain)
            guard dx.shape == x.shape else {
                throw EngineError.shapeMismatch(op: "upfirdn2d VJP", detail: "gradient \(dx.shape) for input \(x.shape)")
            }
            return [dx]
        }
    }

    /// The normalised 2-D FIR filter `[t, t]` of 1-D taps f: `f_i·f_j / (Σf)²` (NVlabs `setup_filter`),
    /// e.g. taps `[1, 3, 3, 1]`.
    public static func firFilter(_ taps: [Float], on backend: any Backend) throws -> Tensor {
        let total = taps.reduce(0, +)
        let values = taps.flatMap { a in taps.map { b in a * b / (total * total) } }
        return try Tensor(values, shape: [taps.count, taps.count], on: backend)
    }
}
