// TEMPORARY development stub: replaced by the Layout implementation.
extension CPUBackend {
    public func copy(_ src: StridedView, to dst: StridedView, shape: [Int]) throws {
        throw EngineError.unimplemented("copy")
    }
}
