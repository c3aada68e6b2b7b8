// bias_act on the CPU backend (bias_act.cl on OpenCL). Semantics: BiasActShape+Validate.swift.
//
// Both directions run SIMD8 chunks with a scalar tail; the vector forms select with the same
// comparisons as the scalar ones (`!(v > 0)` for the leaky branch, `Swift.max`/`Swift.min` as
// `-c >= v ? -c : v` and `c < t ? c : t`), so they return the same bits, NaN included.
extension CPUBackend {
    public func biasAct(_ shape: BiasActShape, x: any Buffer, bias: (any Buffer)?, noise: (any Buffer)?, noiseStrength: (any Buffer)?,
                        y: any Buffer) throws {
        try shape.validate("biasAct", hasBias: bias != nil, buffers: [x, y], bias: bias, noise: (noise, noiseStrength))
        let src = try ptr(x, "biasAct"), dst = try ptr(y, "biasAct")
        let b = try bias.map { try ptr($0, "biasAct") }
        let n = try noise.map { try ptr($0, "biasAct") }
        let strength = try noiseStrength.map { try ptr($0, "biasAct")[0] } ?? 0
        let (alpha, gain, clamp) = (shape.alpha, shape.gain, shape.clamp)
        let leaky = shape.activation == .leakyReLU
        @inline(__always) func act(_ x: Float) -> Float {
            var v = x
            if leaky && !(v > 0) { v *= alpha }
            v *= gain
            if clamp >= 0 { v = Swift.min(Swift.max(v, -clamp), clamp) }
            return v
        }
        @inline(__always) func act(_ x: Float8) -> Float8 {
            var v = x
            if leaky { v = v.replacing(with: v * alpha, where: .!(v .> 0)) }
            v *= gain
            if clamp >= 0 {
                v = v.replacing(with: -clamp, where: v .<= -clamp)
                v = v.replacing(with: clamp, where: v .> clamp)
            }
            return v
        }
        // Rows of `inner` elements share one bias value and one sample's noise plane; without either the whole
        // buffer is one row. The noise is added first, as x + (noise·strength), then the bias (as the separate ops).
        let inner = b == nil && n == nil ? max(shape.count, 1) : shape.inner
        let (channels, noiseStride) = (shape.channels, shape.noiseStride)
        parallelFor(shape.count, grain: 1 << 14) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let row = i / inner
                let end = min(range.upperBound, (row + 1) * inner)
                let bv: Float = b.map { $0[row % channels] } ?? 0
                if let n {
                    // Noise element of i: plane (row / channels)·noiseStride, position i − row·inner.
                    let plane = n + (row / channels) * noiseStride, first = row * inner
                    let s8 = Float8(repeating: strength)
                    while i + 8 <= end {
                        store(act((load(src + i) + load(plane + (i - first)) * s8) + bv), dst + i); i += 8
                    }
                    while i < end { dst[i] = act((src[i] + plane[i - first] * strength) + bv); i += 1 }
                } else {
                    while i + 8 <= end { store(act(load(src + i) + bv), dst + i); i += 8 }
                    while i < end { dst[i] = act(src[i] + bv); i += 1 }
                }
            }
        }
    }

    public func biasActGrad(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer) throws {
        try shape.validate("biasActGrad", hasBias: false, buffers: [gradY, y, gradX])
        let dy = try ptr(gradY, "biasActGrad"), yv = try ptr(y, "biasActGrad"), dx = try ptr(gradX, "biasActGrad")
        let (alpha, gain, clamp) = (shape.alpha, shape.gain, shape.clamp)
        let leaky = shape.activation == .leakyReLU
        parallelFor(shape.count, grain: 1 << 14) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let out = load(yv + i)
                var g = load(dy + i) * gain
                if leaky { g = g.replacing(with: g * alpha, where: .!(out .> 0)) }
                if clamp >= 0 {
                    let magnitude = unsafeBitCast(unsafeBitCast(out, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Float8.self)
                    g = g.replacing(with: 0, where: .!(magnitude .< clamp))
                }
                store(g, dx + i)
                i += 8
            }
            while i < range.upperBound {
                let out = yv[i]
                var g = dy[i] * gain
                if leaky && !(out > 0) { g *= alpha }
                if clamp >= 0 && !(Swift.abs(out) < clamp) { g = 0 }
                dx[i] = g
                i += 1
            }
        }
    }
}
