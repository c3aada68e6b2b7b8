import Foundation

/// A trainable tensor with a name, its accumulated gradient, and its optimizer state.
/// Owned by one training loop (not shared across tasks).
public final class Parameter {
    /// Dotted path, e.g. `mapping.fc0.weight`; the key in checkpoints.
    public let name: String
    /// Current value, a leaf that gradients are taken with respect to.
    public private(set) var value: Tensor
    /// Σ of gradients since the last `zeroGrad()` (nil when none yet).
    public var grad: Tensor?

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value.detached().requiringGrad()
    }

    public var shape: [Int] { value.shape }

    /// Replaces the value (e.g. after loading), keeping it a gradient leaf.
    public func assign(_ newValue: Tensor) throws {
        guard newValue.shape == value.shape else {
            throw EngineError.shapeMismatch(op: "Parameter.assign(\(name))", detail: "\(newValue.shape) for \(value.shape)")
        }
        value = newValue.detached().requiringGrad()
    }

    /// Adds `g` to `grad` (profiler scope `gradient accumulation`).
    public func accumulate(_ g: Tensor) throws {
        grad = try Profiler.withScope("gradient accumulation") {
            try Autograd.withoutGrad { try grad.map { try $0 + g } ?? g.detached() }
        }
    }

    public func zeroGrad() { grad = nil }
}

/// An ordered, named set of parameters (a network's state), savable and loadable by name.
public struct ParameterCollection {
    public private(set) var parameters: [Parameter] = []

    public init(_ parameters: [Parameter] = []) {
        self.parameters = parameters
    }

    public mutating func append(_ p: Parameter) { parameters.append(p) }
    public mutating func append(contentsOf other: ParameterCollection) { parameters += other.parameters }

    public subscript(name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Σ of element counts.
    public var count: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Runs the reverse pass from scalar `loss` and adds the gradients into each parameter's `grad`.
    public func backward(_ loss: Tensor) throws {
        let grads = try Autograd.gradients(of: loss, wrt: parameters.map(\.value))
        for (p, g) in zip(parameters, grads) {
            if let g { try p.accumulate(g) }
        }
    }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// Runs `body` with the gradients cleared, then sets each `grad` to previous + (what `body` accumulated), so the
    /// several backward passes of one micro-batch are summed first and micro-batches are then added in order:
    /// `((m0 + m1) + m2)…`, the order in which data-parallel ranks' sums combine as well.
    public func accumulatingSeparately<T>(_ body: () throws -> T) throws -> T {
        let previous = parameters.map(\.grad)
        zeroGrad()
        let result = try body()
        for (p, before) in zip(parameters, previous) {
            guard let before else { continue }
            p.grad = try Profiler.withScope("gradient accumulation") {
                try Autograd.withoutGrad { try p.grad.map { try before + $0 } ?? before }
            }
        }
        return result
    }

    /// Name → host values, for checkpoints.
    public func snapshot(prefix: String = "") throws -> [String: SafeTensors.Entry] {
        var out: [String: SafeTensors.Entry] = [:]
        for p in parameters { out[prefix + p.name] = SafeTensors.Entry(shape: p.shape, values: try p.value.array()) }
        return out
    }

    /// Loads values by name (with `prefix`); every parameter must be present with its shape.
    public func load(_ tensors: [String: SafeTensors.Entry], prefix: String = "", source: String = "checkpoint") throws {
        for p in parameters {
            guard let t = tensors[prefix + p.name] else {
                throw EngineError.shapeMismatch(op: "load \(source)", detail: "missing parameter '\(prefix + p.name)'")
            }
            guard t.shape == p.shape else {
                throw EngineError.shapeMismatch(op: "load \(source)", detail: "'\(prefix + p.name)' has shape \(t.shape), expected \(p.shape)")
            }
            try p.assign(Tensor(t.values, shape: t.shape, on: p.value.backend))
        }
    }

    /// Writes every parameter to a safetensors file, atomically.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(snapshot(), metadata: metadata, to: path)
    }

    /// Reads every parameter from a safetensors file.
    public func load(from path: String) throws {
        try load(SafeTensors.read(path).tensors, source: path)
    }
}
