// Buffer-size checks shared by both backends' convolution and modulation entry points, so a short
// buffer is a named error instead of an out-of-bounds read or write.

extension Conv2dShape {
    /// `validate(op)`, then checks that the three buffers hold at least `inputCount`, `weightCount`
    /// and `outputCount` floats (x or dx, w or dw, y or dy).
    public func validate(_ op: String, input: any Buffer, weight: any Buffer, output: any Buffer) throws {
        try validate(op)
        for (name, buffer, need) in [("input", input, inputCount), ("weight", weight, weightCount), ("output", output, outputCount)]
        where buffer.count < need {
            throw EngineError.shapeMismatch(op: op, detail: "\(name) buffer holds \(buffer.count) floats, \(self) needs \(need)")
        }
    }
}

extension Conv2dShape {
    /// Checks that the optional scales of a scaled convolution hold `[N, C]` (inScale) and `[N, O]` (outScale) floats.
    public func validateScales(_ op: String, inScale: (any Buffer)?, outScale: (any Buffer)?) throws {
        if let inScale, inScale.count < batch * inChannels {
            throw EngineError.shapeMismatch(op: op, detail: "inScale buffer holds \(inScale.count) floats, \(self) needs \(batch * inChannels)")
        }
        if let outScale, outScale.count < batch * outChannels {
            throw EngineError.shapeMismatch(op: op, detail: "outScale buffer holds \(outScale.count) floats, \(self) needs \(batch * outChannels)")
        }
    }
}

extension ModulateShape {
    /// Checks positivity and that each `(name, buffer, floats needed)` is large enough.
    public func validate(_ op: String, _ buffers: [(String, any Buffer, Int)]) throws {
        guard batch > 0, outChannels > 0, inChannels > 0, kernelSize > 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "non-positive dimension in \(self)")
        }
        for (name, buffer, need) in buffers where buffer.count < need {
            throw EngineError.shapeMismatch(op: op, detail: "\(name) buffer holds \(buffer.count) floats, \(self) needs \(need)")
        }
    }
}

extension ModulateShape {
    /// Buffer checks of `modulateWeights`, shared by both backends.
    func validateForward(weight: any Buffer, styles: any Buffer, modulated: any Buffer) throws {
        try validate("modulateWeights", [("weight", weight, weightCount), ("styles", styles, batch * inChannels),
                                         ("modulated", modulated, modulatedCount)])
    }

    /// Buffer checks of `modulateWeightsBackward`, shared by both backends.
    func validateBackward(weight: any Buffer, styles: any Buffer, gradModulated: any Buffer,
                          gradWeight: any Buffer, gradStyles: any Buffer) throws {
        try validate("modulateWeightsBackward", [("weight", weight, weightCount), ("styles", styles, batch * inChannels),
                                                 ("gradModulated", gradModulated, modulatedCount),
                                                 ("gradWeight", gradWeight, weightCount), ("gradStyles", gradStyles, batch * inChannels)])
    }

    /// Buffer checks of `demodulation` (and, with the gradients, `demodulationBackward`), shared by both backends.
    func validateDemodulation(_ op: String, weight: any Buffer, styles: any Buffer, coefficients: any Buffer,
                              gradients: (coefficients: any Buffer, weight: any Buffer, styles: any Buffer)? = nil) throws {
        var checks: [(String, any Buffer, Int)] = [("weight", weight, weightCount), ("styles", styles, batch * inChannels),
                                                   ("coefficients", coefficients, batch * outChannels)]
        if let g = gradients {
            checks += [("gradCoefficients", g.coefficients, batch * outChannels), ("gradWeight", g.weight, weightCount),
                       ("gradStyles", g.styles, batch * inChannels)]
        }
        try validate(op, checks)
    }
}
