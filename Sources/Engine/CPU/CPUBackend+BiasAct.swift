// bias_act on the CPU backend (bias_act.cl on OpenCL). Semantics: BiasActShape+Validate.swift.
extension CPUBackend {
    public func biasAct(_ shape: BiasActShape, x: any Buffer, bias: (any Buffer)?, y: any Buffer) throws {
        try shape.validate("biasAct", hasBias: bias != nil, buffers: [x, y], bias: bias)
        let src = try ptr(x, "biasAct"), dst = try ptr(y, "biasAct")
        let b = try bias.map { try ptr($0, "biasAct") }
        let (alpha, gain, clamp) = (shape.alpha, shape.gain, shape.clamp)
        let leaky = shape.activation == .leakyReLU
        // Rows of `inner` elements share one bias value; without bias the whole buffer is one row.
        let inner = b == nil ? max(shape.count, 1) : shape.inner
        parallelFor(shape.count, grain: 1 << 14) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let row = i / inner
                let end = min(range.upperBound, (row + 1) * inner)
                let bv: Float = b.map { $0[row % shape.channels] } ?? 0
                for j in i..<end {
                    var v = src[j] + bv
                    if leaky && !(v > 0) { v *= alpha }
                    v *= gain
                    if clamp >= 0 { v = Swift.min(Swift.max(v, -clamp), clamp) }
                    dst[j] = v
                }
                i = end
            }
        }
    }

    public func biasActGrad(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer) throws {
        try shape.validate("biasActGrad", hasBias: false, buffers: [gradY, y, gradX])
        let dy = try ptr(gradY, "biasActGrad"), yv = try ptr(y, "biasActGrad"), dx = try ptr(gradX, "biasActGrad")
        let (alpha, gain, clamp) = (shape.alpha, shape.gain, shape.clamp)
        let leaky = shape.activation == .leakyReLU
        parallelFor(shape.count, grain: 1 << 14) { range in
            for i in range {
                let out = yv[i]
                var g = dy[i] * gain
                if leaky && !(out > 0) { g *= alpha }
                if clamp >= 0 && !(Swift.abs(out) < clamp) { g = 0 }
                dx[i] = g
            }
        }
    }
}
