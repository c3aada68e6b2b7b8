// Fused optimizer steps of the OpenCL backend (optimizer.cl): up to `optimizerSlots` tensors per launch.
extension OpenCLBackend {
    /// Tensors per optimizer launch (`SLOTS` in optimizer.cl).
    public static let optimizerSlots = 16

    public func adamStep(_ step: AdamStep, _ slots: [AdamSlot]) throws {
        try step.validate(slots)
        let used = slots.filter { $0.count > 0 }
        for group in try Self.optimizerLaunches(used.map(\.count)) {
            let chunk = group.map { used[$0] }
            var args: [KernelArg] = []
            for k in 0..<Self.optimizerSlots {
                let s = chunk[k < chunk.count ? k : 0]   // unused slots: a dummy, never read
                args += [.buffer(s.param), .buffer(s.grad), .buffer(s.m), .buffer(s.v)]
            }
            let (ends, counts, items) = Self.slotGroups(chunk.map(\.count))
            try launch("optimizer", "adam_step", global: [items], local: [Self.localSize1D],
                       args + [ends, counts, .float(step.learningRate), .float(step.beta1), .float(step.beta2),
                               .float(step.epsilon), .float(step.biasCorrection1), .float(step.biasCorrection2),
                               .float(step.gradScale)])
        }
    }

    public func emaUpdate(_ slots: [EMASlot], beta: Float) throws {
        try validate(slots)
        let used = slots.filter { $0.count > 0 }
        for group in try Self.optimizerLaunches(used.map(\.count)) {
            let chunk = group.map { used[$0] }
            var args: [KernelArg] = []
            for k in 0..<Self.optimizerSlots {
                let s = chunk[k < chunk.count ? k : 0]
                args += [.buffer(s.ema), .buffer(s.param)]
            }
            let (ends, counts, items) = Self.slotGroups(chunk.map(\.count))
            try launch("optimizer", "ema_update", global: [items], local: [Self.localSize1D],
                       args + [ends, counts, .float(beta)])
        }
    }

    /// Indices of `counts` grouped into launches, in order: at most `optimizerSlots` tensors and fewer than
    /// 2³¹ elements per launch (a tensor that alone reaches 2³¹ is rejected). Work-items per launch stay below
    /// 2³¹ + 16·`localSize1D`, inside the 64-bit global size and the kernel's int indices.
    public static func optimizerLaunches(_ counts: [Int]) throws -> [[Int]] {
        var groups: [[Int]] = [], current: [Int] = [], total = 0
        for (i, c) in counts.enumerated() {
            guard c < Int(Int32.max) else {
                throw EngineError.shapeMismatch(op: "optimizer", detail: "tensor of \(c) elements exceeds one launch's 2^31")
            }
            if current.count == optimizerSlots || total + c >= Int(Int32.max) {
                groups.append(current)
                current = []
                total = 0
            }
            current.append(i)
            total += c
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }

    /// The `group_ends` argument (prefix sums of each tensor's work-groups of `localSize1D`, padded with
    /// Int32.max), the `counts` argument, and the launch's work-items.
    static func slotGroups(_ counts: [Int]) -> (groupEnds: KernelArg, counts: KernelArg, items: Int) {
        var ends: [Int32] = [], groups = 0
        for c in counts {
            groups += (c + localSize1D - 1) / localSize1D
            ends.append(Int32(groups))
        }
        return (.int16(ends, pad: Int32.max), .int16(counts.map { Int32($0) }, pad: 0), groups * localSize1D)
    }
}
