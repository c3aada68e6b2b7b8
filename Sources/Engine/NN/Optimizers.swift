/// Adam over a parameter collection: one multi-tensor `Backend.adamStep` per backend (OpenCL: one launch per 16
/// parameters).
public final class Adam {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    /// Number of steps taken (the bias-correction exponent).
    public private(set) var step = 0
    private var moments: [String: (m: Tensor, v: Tensor)] = [:]

    public init(learningRate: Float = 0.0025, beta1: Float = 0, beta2: Float = 0.99, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// Applies one update to every parameter that has a gradient (scaled by `gradScale`, e.g.
    /// 1/accumulation), then clears the gradients.
    public func update(_ parameters: ParameterCollection, gradScale: Float = 1) throws {
        step += 1
        let config = AdamStep(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, step: step,
                              gradScale: gradScale)
        var slots: [(backend: any Backend, slot: AdamSlot)] = []
        for p in parameters.parameters {
            guard let g = p.grad else { continue }
            let backend = p.value.backend
            let state = try moments[p.name] ?? (Tensor.zeros(p.shape, on: backend), Tensor.zeros(p.shape, on: backend))
            moments[p.name] = state
            slots.append((backend, AdamSlot(param: p.value.buffer, grad: g.buffer, m: state.m.buffer, v: state.v.buffer,
                                            count: p.value.count)))
        }
        for (backend, group) in groupedByBackend(slots) { try backend.adamStep(config, group) }
        parameters.zeroGrad()
    }

    /// Moments by parameter name (for checkpoints).
    public func state() throws -> [String: (m: [Float], v: [Float])] {
        try moments.mapValues { (try $0.m.array(), try $0.v.array()) }
    }

    /// Restores moments and the step counter.
    public func restore(step: Int, moments saved: [String: (m: [Float], v: [Float])], parameters: ParameterCollection) throws {
        self.step = step
        moments = [:]
        for p in parameters.parameters {
            guard let s = saved[p.name] else { continue }
            moments[p.name] = (try Tensor(s.m, shape: p.shape, on: p.value.backend), try Tensor(s.v, shape: p.shape, on: p.value.backend))
        }
    }
}

/// Exponential moving average of parameters: `ema = p + (ema − p)·β` (NVlabs `p.lerp(ema, β)`).
public enum EMA {
    /// Updates each parameter of `ema` toward the same-placed parameter of `source` (one multi-tensor
    /// `Backend.emaUpdate` per backend).
    public static func update(_ ema: ParameterCollection, toward source: ParameterCollection, beta: Float) throws {
        guard ema.parameters.count == source.parameters.count else {
            throw EngineError.shapeMismatch(op: "EMA", detail: "\(ema.parameters.count) parameters vs \(source.parameters.count)")
        }
        var slots: [(backend: any Backend, slot: EMASlot)] = []
        for (e, p) in zip(ema.parameters, source.parameters) {
            guard e.shape == p.shape else {
                throw EngineError.shapeMismatch(op: "EMA", detail: "\(e.name) \(e.shape) vs \(p.name) \(p.shape)")
            }
            slots.append((e.value.backend, EMASlot(ema: e.value.buffer, param: p.value.buffer, count: e.value.count)))
        }
        for (backend, group) in groupedByBackend(slots) { try backend.emaUpdate(group, beta: beta) }
    }

    /// β for a half-life of `halfLifeImages` images at `batchSize` images per step: 0.5^(batch/halfLife).
    public static func beta(halfLifeImages: Double, batchSize: Int) -> Float {
        Float(pow(0.5, Double(batchSize) / max(halfLifeImages, 1e-8)))
    }
}

import Foundation

/// `items` grouped by backend (identity), groups and items in first-seen order.
private func groupedByBackend<T>(_ items: [(backend: any Backend, slot: T)]) -> [(any Backend, [T])] {
    var groups: [(any Backend, [T])] = []
    for item in items {
        if let k = groups.firstIndex(where: { $0.0 === item.backend }) { groups[k].1.append(item.slot) } else {
            groups.append((item.backend, [item.slot]))
        }
    }
    return groups
}
