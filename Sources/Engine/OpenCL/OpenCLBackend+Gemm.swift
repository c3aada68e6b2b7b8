// TEMPORARY development stub: replaced by the Gemm implementation.
extension OpenCLBackend {
    public func gemm(_ shape: GemmShape, a: any Buffer, b: any Buffer, c: any Buffer) throws {
        throw EngineError.unimplemented("gemm")
    }
}
