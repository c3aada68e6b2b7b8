// TEMPORARY development stub: replaced by the BiasAct implementation.
extension OpenCLBackend {
    public func biasAct(_ shape: BiasActShape, x: any Buffer, bias: (any Buffer)?, y: any Buffer) throws {
        throw EngineError.unimplemented("biasAct")
    }

    public func biasActGrad(_ shape: BiasActShape, gradY: any Buffer, y: any Buffer, gradX: any Buffer) throws {
        throw EngineError.unimplemented("biasActGrad")
    }
}
