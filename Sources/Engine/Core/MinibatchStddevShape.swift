/// Shape of a minibatch-stddev launch (StyleGAN2's `MinibatchStdLayer`, one feature): x `[N, C, H, W]` in groups of
/// `group` samples, sample `n = k·M + m` (k < group, M = N / group) belonging to group m; y `[N, C + 1, H, W]`.
public struct MinibatchStddevShape: Sendable, Hashable, CustomStringConvertible {
    public let batch: Int, group: Int, channels: Int, height: Int, width: Int
    /// Added to the variance under the square root (NVlabs 1e-8).
    public let epsilon: Float

    public init(batch: Int, group: Int, channels: Int, height: Int, width: Int, epsilon: Float = 1e-8) {
        self.batch = batch
        self.group = group
        self.channels = channels
        self.height = height
        self.width = width
        self.epsilon = epsilon
    }

    /// The group size NVlabs uses for `groupSize` and a batch of `batch`: min(groupSize, N), lowered until it divides N.
    public static func group(_ groupSize: Int, batch: Int) -> Int {
        var g = max(1, min(groupSize, batch))
        while batch % g != 0 { g -= 1 }
        return g
    }

    /// Groups (M = N / group): one statistic each.
    public var groups: Int { batch / group }
    /// Elements of one sample of x: C·H·W.
    public var sampleCount: Int { channels * height * width }
    /// Elements of x.
    public var inputCount: Int { batch * sampleCount }
    /// Elements of y.
    public var outputCount: Int { batch * (channels + 1) * height * width }

    public var description: String {
        "MinibatchStddevShape([\(batch), \(channels), \(height), \(width)], group \(group))"
    }

    /// Checks positivity, that `group` divides the batch, and that each `(name, buffer, floats needed)` is large enough.
    public func validate(_ op: String, _ buffers: [(String, any Buffer, Int)]) throws {
        guard batch > 0, group > 0, channels > 0, height > 0, width > 0, batch % group == 0, epsilon >= 0 else {
            throw EngineError.shapeMismatch(op: op, detail: "\(self): dimensions must be positive and the group must divide the batch")
        }
        guard outputCount <= Int(Int32.max) else {
            throw EngineError.shapeMismatch(op: op, detail: "\(self) exceeds 32-bit indexing")
        }
        for (name, buffer, need) in buffers where buffer.count < need {
            throw EngineError.shapeMismatch(op: op, detail: "\(name) buffer holds \(buffer.count) floats, \(self) needs \(need)")
        }
    }
}
