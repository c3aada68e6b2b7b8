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
        return try upfirdn2d(x, filter: filter, shape: s)
    }

    /// upfirdn2d of x `[N, C, H, W]` as described by `s` (planes = N·C); records the VJP, which is the
    /// same op with `s.gradient` (up/down swapped, filter flip toggled, pads moved).
    static func upfirdn2d(_ x: Tensor, filter: Tensor, shape s: Upfirdn2dShape) throws -> Tensor {
        try s.validate("upfirdn2d")
        let out = try Tensor.empty([x.shape[0], x.shape[1], s.outHeight, s.outWidth], on: x.backend)
        try Profiler.measure("upfirdn2d", x.backend) { try x.backend.upfirdn2d(s, input: x.buffer, filter: filter.buffer, output: out.buffer) }
        let f = filter.detached()
        return out.recorded("upfirdn2d", [x]) { g in [try upfirdn2d(g, filter: f, shape: s.gradient)] }
    }

    /// The normalised 2-D FIR filter `[t, t]` of 1-D taps f: `f_i·f_j / (Σf)²` (NVlabs `setup_filter`),
    /// e.g. taps `[1, 3, 3, 1]`.
    public static func firFilter(_ taps: [Float], on backend: any Backend) throws -> Tensor {
        let total = taps.reduce(0, +)
        let values = taps.flatMap { a in taps.map { b in a * b / (total * total) } }
        return try Tensor(values, shape: [taps.count, taps.count], on: backend)
    }
}
