import Foundation

// Minibatch standard deviation on the CPU backend (minibatch_stddev.cl on OpenCL). Semantics: Backend.swift.
extension CPUBackend {
    public func minibatchStddev(_ shape: MinibatchStddevShape, x: any Buffer, y: any Buffer) throws {
        try shape.validate("minibatchStddev", [("x", x, shape.inputCount), ("y", y, shape.outputCount)])
        let src = try ptr(x, "minibatchStddev"), dst = try ptr(y, "minibatchStddev")
        let (g, chw, hw) = (shape.group, shape.sampleCount, shape.height * shape.width)
        let (stride, ystride) = (shape.groups * chw, shape.groups * (chw + hw))
        parallelFor(shape.groups, grain: 1) { range in
            for m in range {
                let xm = src + m * chw, ym = dst + m * (chw + hw)
                var total: Float = 0
                for i in 0..<chw {
                    total += Self.minibatchStats(xm, i, group: g, stride: stride, epsilon: shape.epsilon).std
                    for k in 0..<g { ym[k * ystride + i] = xm[k * stride + i] }
                }
                let feature = total / Float(chw)
                for k in 0..<g { (ym + k * ystride + chw).update(repeating: feature, count: hw) }
            }
        }
    }

    public func minibatchStddevBackward(_ shape: MinibatchStddevShape, x: any Buffer, gradOutput dy: any Buffer,
                                        gradInput dx: any Buffer) throws {
        try shape.validate("minibatchStddevBackward", [("x", x, shape.inputCount), ("gradOutput", dy, shape.outputCount),
                                                       ("gradInput", dx, shape.inputCount)])
        let src = try ptr(x, "minibatchStddevBackward"), grad = try ptr(dy, "minibatchStddevBackward")
        let out = try ptr(dx, "minibatchStddevBackward")
        let (g, chw, hw) = (shape.group, shape.sampleCount, shape.height * shape.width)
        let (stride, ystride) = (shape.groups * chw, shape.groups * (chw + hw))
        parallelFor(shape.groups, grain: 1) { range in
            for m in range {
                let xm = src + m * chw, dym = grad + m * (chw + hw), dxm = out + m * chw
                var total: Float = 0
                for p in 0..<hw { for k in 0..<g { total += dym[k * ystride + chw + p] } }
                let coef = total / (Float(g) * Float(chw))
                for i in 0..<chw {
                    let (mean, std) = Self.minibatchStats(xm, i, group: g, stride: stride, epsilon: shape.epsilon)
                    let c = coef / std
                    for k in 0..<g { dxm[k * stride + i] = dym[k * ystride + i] + c * (xm[k * stride + i] - mean) }
                }
            }
        }
    }

    /// μ and sqrt(var + ε) over the group's samples `xm[k·stride + i]`, k < group, summed in k order.
    private static func minibatchStats(_ xm: UnsafeMutablePointer<Float>, _ i: Int, group g: Int, stride: Int,
                                       epsilon: Float) -> (mean: Float, std: Float) {
        var mean: Float = 0
        for k in 0..<g { mean += xm[k * stride + i] }
        mean /= Float(g)
        var variance: Float = 0
        for k in 0..<g {
            let d = xm[k * stride + i] - mean
            variance += d * d
        }
        return (mean, (variance / Float(g) + epsilon).squareRoot())
    }
}
