import Engine
import XCTest

/// One input of a gradient check: values, shape, and whether it is differentiated.
public struct GradInput {
    public var values: [Float]
    public var shape: [Int]
    public var differentiable = true

    public init(values: [Float], shape: [Int], differentiable: Bool = true) {
        self.values = values
        self.shape = shape
        self.differentiable = differentiable
    }
}

/// Checks the autograd gradients of `L = Σ f(inputs)·r` (r a fixed random probe) against central finite
/// differences `(L(x + h·e) − L(x − h·e)) / 2h` accumulated in Double, on up to `coordinates` entries of each
/// differentiable input. Fails with the relative L2 error and the worst entries.
public func checkGradients(on backend: any Backend, _ inputs: [GradInput], h: Float = 1e-2, tolerance: Double = 3e-3,
                    coordinates: Int = 16, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                    _ f: ([Tensor]) throws -> Tensor) throws {
    func tensors(_ values: [[Float]], grad: Bool) throws -> [Tensor] {
        try zip(values, inputs).map { v, input in
            let t = try Tensor(v, shape: input.shape, on: backend)
            return grad && input.differentiable ? t.requiringGrad() : t
        }
    }
    let base = inputs.map(\.values)
    let x = try tensors(base, grad: true)
    let y = try f(x)
    var rng = TestRNG(seed: 99)
    let probe = rng.floats(y.count)
    let loss = try (y * Tensor(probe, shape: y.shape, on: backend)).sum()
    let grads = try Autograd.gradients(of: loss, wrt: x)

    func lossValue(_ values: [[Float]]) throws -> Double {
        let out = try Autograd.withoutGrad { try f(tensors(values, grad: false)).array() }
        return zip(out, probe).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    for (index, input) in inputs.enumerated() where input.differentiable {
        let analytic = try grads[index].map { try $0.array() } ?? [Float](repeating: 0, count: input.values.count)
        var picks = Array(0..<min(coordinates / 2, input.values.count))
        var pickRNG = TestRNG(seed: UInt64(index + 7))
        while picks.count < min(coordinates, input.values.count) {
            let c = Int(pickRNG.next() % UInt64(input.values.count))
            if !picks.contains(c) { picks.append(c) }
        }
        var numeric: [Double] = [], got: [Float] = []
        for c in picks {
            var plus = base, minus = base
            plus[index][c] += h
            minus[index][c] -= h
            numeric.append((try lossValue(plus) - lossValue(minus)) / (2 * Double(h)))
            got.append(analytic[c])
        }
        let err = relativeL2(got, numeric)
        if !(err <= tolerance) {
            let worst = picks.indices.sorted { abs(Double(got[$0]) - numeric[$0]) > abs(Double(got[$1]) - numeric[$1]) }.prefix(4)
                .map { "[\(picks[$0])] autograd \(got[$0]) vs numeric \(String(format: "%.6g", numeric[$0]))" }
            XCTFail("\(what) (\(backend.label)), input \(index): gradient relative L2 error \(err) > \(tolerance); \(worst.joined(separator: ", "))",
                    file: file, line: line)
        }
    }
}
