// TEMPORARY development stub: replaced by the Upfirdn2d implementation.
extension CPUBackend {
    public func upfirdn2d(_ shape: Upfirdn2dShape, input: any Buffer, filter: any Buffer, output: any Buffer) throws {
        throw EngineError.unimplemented("upfirdn2d")
    }
}
