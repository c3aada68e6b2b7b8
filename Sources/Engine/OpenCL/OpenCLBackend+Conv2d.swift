// TEMPORARY development stub: replaced by the Conv2d implementation.
extension OpenCLBackend {
    public func conv2d(_ shape: Conv2dShape, input: any Buffer, weight: any Buffer, output: any Buffer) throws {
        throw EngineError.unimplemented("conv2d")
    }

    public func conv2dGradInput(_ shape: Conv2dShape, gradOutput: any Buffer, weight: any Buffer, gradInput: any Buffer) throws {
        throw EngineError.unimplemented("conv2dGradInput")
    }

    public func conv2dGradWeight(_ shape: Conv2dShape, input: any Buffer, gradOutput: any Buffer, gradWeight: any Buffer) throws {
        throw EngineError.unimplemented("conv2dGradWeight")
    }
}
