/// One recorded step of the autograd graph: the op's inputs and its vector-Jacobian product.
///
/// A tensor that requires a gradient carries a node. Leaves (parameters, inputs marked with
/// `requiringGrad()`) have no parents and no VJP. The graph is freed by ARC when the last tensor
/// referring to it goes away, so memory does not grow from step to step.
public final class GradNode: Sendable {
    /// The op's differentiable inputs, in the order the VJP returns gradients for them.
    let parents: [Tensor]
    /// Maps the gradient of the op's output to the gradients of `parents` (nil = no gradient flows).
    /// Written with differentiable Engine ops, so it can itself be recorded and differentiated again.
    let vjp: (@Sendable (Tensor) throws -> [Tensor?])?
    /// Op name, for error messages and profiling.
    public var name: String { describe() }
    /// Builds `name` when it is asked for: an op's name can be an enum's description (`"\(op)"`), which Swift
    /// builds by reflection, too slow to do for every op of every step.
    private let describe: @Sendable () -> String
    /// The profiler scope (layer) that recorded the op; its backward is attributed there too.
    let scope: String

    init(name: @autoclosure @escaping @Sendable () -> String, parents: [Tensor], vjp: (@Sendable (Tensor) throws -> [Tensor?])?) {
        describe = name
        self.parents = parents
        self.vjp = vjp
        scope = Profiler.current == nil ? "" : Profiler.scope
    }

    /// Runs the VJP, attributed to the recording layer's backward phase when profiling.
    func backward(_ g: Tensor) throws -> [Tensor?] {
        guard let vjp else { return [] }
        guard Profiler.current != nil else { return try vjp(g) }
        return try Profiler.$scope.withValue(scope) { try Profiler.$phase.withValue("backward") { try vjp(g) } }
    }

    var isLeaf: Bool { vjp == nil }
}

/// Autograd mode switches and the reverse pass.
public enum Autograd {
    /// Whether ops record graph nodes. Off inside `withoutGrad` and while running VJPs of a
    /// `gradients(..., createGraph: false)` call.
    @TaskLocal public static var isRecording = true

    /// Runs `body` without recording (inference, optimizer updates).
    public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
        try $isRecording.withValue(false) { try body() }
    }

    /// While a VJP runs inside `gradients`: which of its node's parents lead to a requested input (nil outside a
    /// reverse pass = all). VJPs of ops with expensive per-input gradients (conv2d, matmul) skip the others,
    /// e.g. D's weight gradients while G's loss is differentiated with respect to G's parameters.
    @TaskLocal static var parentsNeeded: [Bool]?

    /// Whether the VJP now running must return a gradient for its node's parent `index`.
    static func needsGradient(_ index: Int) -> Bool { parentsNeeded.map { index < $0.count && $0[index] } ?? true }

    /// Runs `body` with recording on (e.g. a penalty that takes a gradient inside a no-grad evaluation).
    public static func withGrad<T>(_ body: () throws -> T) rethrows -> T {
        try $isRecording.withValue(true) { try body() }
    }

    /// Gradients of `output` (a scalar, or any shape with an explicit `seed` of the same shape) with respect
    /// to each of `inputs`; nil where an input does not influence the output.
    ///
    /// With `createGraph` the VJPs are recorded, so the returned gradients can be differentiated again
    /// (R1 penalty, path-length regularisation); otherwise they are plain tensors.
    public static func gradients(of output: Tensor, wrt inputs: [Tensor], seed: Tensor? = nil,
                                 createGraph: Bool = false) throws -> [Tensor?] {
        guard let root = output.node else {
            return inputs.map { _ in nil }
        }
        let start = try seed ?? Tensor.full(output.shape, value: 1, on: output.backend)
        guard start.shape == output.shape else {
            throw EngineError.shapeMismatch(op: "gradients", detail: "seed \(start.shape) for output \(output.shape)")
        }
        let order = topologicalOrder(root)
        let requested = Set(inputs.compactMap { $0.node.map(ObjectIdentifier.init) })
        // Nodes from which a requested input is reachable (parents come first in `order`); the others'
        // gradients are never computed.
        var needed = Set<ObjectIdentifier>()
        for node in order {
            let id = ObjectIdentifier(node)
            if requested.contains(id) || node.parents.contains(where: { $0.node.map { needed.contains(ObjectIdentifier($0)) } ?? false }) {
                needed.insert(id)
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): start]
        try $isRecording.withValue(createGraph) {
            for node in order.reversed() {
                guard !node.isLeaf, needed.contains(ObjectIdentifier(node)), let g = grads[ObjectIdentifier(node)] else { continue }
                // Intermediate gradients are freed once propagated, unless requested.
                if !requested.contains(ObjectIdentifier(node)) { grads[ObjectIdentifier(node)] = nil }
                let mask = node.parents.map { $0.node.map { needed.contains(ObjectIdentifier($0)) } ?? false }
                let parentGrads = try $parentsNeeded.withValue(mask) { try node.backward(g) }
                for (k, (parent, pg)) in zip(node.parents, parentGrads).enumerated() {
                    guard mask[k], let pnode = parent.node, let pg else { continue }
                    guard pg.shape == parent.shape else {
                        throw EngineError.shapeMismatch(op: "VJP of \(node.name)", detail: "gradient \(pg.shape) for input \(parent.shape)")
                    }
                    let key = ObjectIdentifier(pnode)
                    if let sum = grads[key] {
                        // A tensor used by several ops: its gradients add up, attributed (when profiling) to the layer
                        // that made it, or for a leaf (a parameter) to the layer that used it.
                        grads[key] = try Profiler.$scope.withValue(pnode.isLeaf ? node.scope : pnode.scope) {
                            try Profiler.$phase.withValue("backward") { try sum + pg }
                        }
                    } else {
                        grads[key] = pg
                    }
                }
            }
        }
        return inputs.map { t in t.node.flatMap { grads[ObjectIdentifier($0)] } }
    }

    /// Nodes reachable from `root`, parents before children.
    static func topologicalOrder(_ root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative DFS (graphs of deep networks would overflow a recursive one).
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, next) = stack.popLast() {
            if next < node.parents.count {
                stack.append((node, next + 1))
                if let p = node.parents[next].node, visited.insert(ObjectIdentifier(p)).inserted {
                    stack.append((p, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}

extension Tensor {
    /// Whether gradients flow to or through this tensor.
    public var requiresGrad: Bool { node != nil }

    /// This tensor as a leaf that gradients are taken with respect to.
    public func requiringGrad() -> Tensor {
        Tensor(shape: shape, storage: storage, node: GradNode(name: "leaf", parents: [], vjp: nil))
    }

    /// This tensor cut from the graph (no gradient flows through the result).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage, node: nil) }

    /// `self` with a node recording `name` and `vjp` when recording is on and any of `inputs` requires a
    /// gradient; otherwise `self` unchanged. `vjp` receives the output gradient and returns one gradient
    /// (or nil) per input.
    func recorded(_ name: @autoclosure @escaping @Sendable () -> String, _ inputs: [Tensor],
                  _ vjp: @escaping @Sendable (Tensor) throws -> [Tensor?]) -> Tensor {
        guard Autograd.isRecording, inputs.contains(where: \.requiresGrad) else { return self }
        return Tensor(shape: shape, storage: storage, node: GradNode(name: name(), parents: inputs, vjp: vjp))
    }
}
