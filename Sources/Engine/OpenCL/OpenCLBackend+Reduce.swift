// TEMPORARY development stub: replaced by the Reduce implementation.
extension OpenCLBackend {
    public func reduce(_ op: ReduceOp, _ x: any Buffer, shape: [Int], axes: [Int], _ out: any Buffer) throws {
        throw EngineError.unimplemented("reduce")
    }
}
