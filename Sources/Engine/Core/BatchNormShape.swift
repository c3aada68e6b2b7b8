/// Shape of a batch-norm launch: x viewed as `[outer, channels, inner]` (`[N, C, H·W]` for images, `[N, C, 1]`
/// for features) and the ε added to the variance.
public struct BatchNormShape: Sendable, Hashable, CustomStringConvertible {
    public let outer: Int, channels: Int, inner: Int
    public let epsilon: Float

    public init(outer: Int, channels: Int, inner: Int, epsilon: Float) {
        self.outer = outer
        self.channels = channels
        self.inner = inner
        self.epsilon = epsilon
    }

    /// Elements of x.
    public var count: Int { outer * channels * inner }

    public var description: String { "BatchNormShape([\(outer), \(channels), \(inner)], eps \(epsilon))" }

    /// Checks positivity and that each `(name, buffer, floats needed)` is large enough; throws naming `op`.
    public func validate(_ op: String, x: any Buffer, perChannel: [(String, any Buffer)], y: (any Buffer)? = nil) throws {
        guard outer > 0, channels > 0, inner > 0, epsilon >= 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "non-positive dimension in \(self)")
        }
        for (name, buffer, need) in [("x", x, count)] + perChannel.map({ ($0.0, $0.1, channels) }) + (y.map { [("y", $0, count)] } ?? [])
        where buffer.count < need {
            throw EngineError.shapeMismatch(op: op, detail: "\(name) buffer holds \(buffer.count) floats, \(self) needs \(need)")
        }
    }
}
