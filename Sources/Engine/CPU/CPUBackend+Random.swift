// TEMPORARY development stub: replaced by the Random implementation.
extension CPUBackend {
    public func random(_ distribution: RandomDistribution, seed: UInt64, offset: UInt64, _ out: any Buffer, count: Int) throws {
        throw EngineError.unimplemented("random")
    }
}
