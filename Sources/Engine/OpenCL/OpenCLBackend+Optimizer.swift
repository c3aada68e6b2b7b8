// TEMPORARY development stub: replaced by the Optimizer implementation.
extension OpenCLBackend {
    public func adamStep(_ step: AdamStep, param: any Buffer, grad: any Buffer, m: any Buffer, v: any Buffer, count: Int) throws {
        throw EngineError.unimplemented("adamStep")
    }

    public func emaUpdate(_ ema: any Buffer, toward param: any Buffer, beta: Float, count: Int) throws {
        throw EngineError.unimplemented("emaUpdate")
    }
}
