// TEMPORARY development stub: replaced by the Modconv implementation.
extension CPUBackend {
    public func modulateWeights(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, modulated: any Buffer) throws {
        throw EngineError.unimplemented("modulateWeights")
    }

    public func modulateWeightsBackward(_ shape: ModulateShape, weight: any Buffer, styles: any Buffer, gradModulated: any Buffer, gradWeight: any Buffer, gradStyles: any Buffer) throws {
        throw EngineError.unimplemented("modulateWeightsBackward")
    }
}
