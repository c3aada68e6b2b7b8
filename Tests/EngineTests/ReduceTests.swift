import Engine
import TestSupport
import XCTest

/// reduce.cl / CPUBackend+Reduce: naive Double reference over every axis subset, awkward and long
/// (two-pass) reductions, and OpenCL-vs-CPU parity.
final class ReduceTests: XCTestCase {
    /// Naive reference: every input element added into the output element with its reduced axes zeroed.
    static func reference(_ op: ReduceOp, _ x: [Float], shape: [Int], axes: [Int]) -> [Double] {
        let rank = shape.count
        let outShape = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
        // Output strides with 0 on the reduced axes.
        let outStrides = zip(StridedView.contiguousStrides(outShape), shape.indices).map { axes.contains($1) ? 0 : $0 }
        var acc = [Double](repeating: op == .max ? -.infinity : 0, count: outShape.reduce(1, *))
        for i in x.indices {
            var rem = i, o = 0
            for d in stride(from: rank - 1, through: 0, by: -1) { o += (rem % shape[d]) * outStrides[d]; rem /= shape[d] }
            let v = Double(x[i])
            switch op {
            case .sum, .mean: acc[o] += v
            case .sumOfSquares: acc[o] += v * v
            case .max: acc[o] = max(acc[o], v)
            }
        }
        if op == .mean {
            let n = Double(axes.reduce(1) { $0 * shape[$1] })
            acc = acc.map { $0 / n }
        }
        return acc
    }

    /// Runs `reduce` into a NaN-poisoned buffer two elements longer than the output and checks that
    /// the tail stays untouched.
    static func run(_ backend: any Backend, _ op: ReduceOp, _ x: any Buffer, shape: [Int], axes: [Int],
                    outCount: Int) throws -> [Float] {
        let out = try backend.poisoned(outCount + 2)
        try backend.reduce(op, x, shape: shape, axes: axes, out)
        let all = try backend.array(out)
        XCTAssertTrue(all[outCount...].allSatisfy(\.isNaN), "\(backend.label) \(op) \(shape) \(axes): wrote past the output")
        return Array(all[..<outCount])
    }

    static func outCount(_ shape: [Int], _ axes: [Int]) -> Int {
        shape.indices.reduce(1) { axes.contains($1) ? $0 : $0 * shape[$1] }
    }

    func testEveryAxisSubsetMatchesReference() throws {
        var rng = TestRNG(seed: 20)
        let shape = [3, 5, 7, 2]
        let x = rng.floats(shape.reduce(1, *))
        for backend in TestBackends.all {
            let bx = try backend.buffer(x)
            for mask in 0..<16 {
                let axes = (0..<4).filter { mask & (1 << $0) != 0 }
                for op in ReduceOp.allCases {
                    let got = try Self.run(backend, op, bx, shape: shape, axes: axes, outCount: Self.outCount(shape, axes))
                    assertClose(got, Self.reference(op, x, shape: shape, axes: axes), tolerance: op == .max ? 0 : 1e-6,
                                "\(backend.label) \(op) axes \(axes)")
                }
            }
        }
    }

    func testAwkwardFullReductions() throws {
        var rng = TestRNG(seed: 21)
        for n in [1, 7, 17, 1023, 4099, 100_003] {
            let x = rng.floats(n, -1, 2)
            for backend in TestBackends.all {
                let bx = try backend.buffer(x)
                for op in ReduceOp.allCases {
                    let got = try Self.run(backend, op, bx, shape: [n], axes: [0], outCount: 1)
                    assertClose(got, Self.reference(op, x, shape: [n], axes: [0]), tolerance: op == .max ? 0 : 1e-5,
                                "\(backend.label) \(op) n=\(n)")
                }
            }
        }
    }

    /// 4M elements to one (two passes on OpenCL), and long reductions with few outputs, strided or not.
    func testLongReductions() throws {
        var rng = TestRNG(seed: 22)
        let pattern = rng.floats(65_537, -1, 2)
        let big = (0..<(1 << 22)).map { pattern[$0 % pattern.count] }
        var sum = 0.0, sumSq = 0.0, maxV = -Double.infinity
        for v in big { let d = Double(v); sum += d; sumSq += d * d; maxV = max(maxV, d) }
        let want: [ReduceOp: Double] = [.sum: sum, .mean: sum / Double(big.count), .sumOfSquares: sumSq, .max: maxV]
        let cases: [([Int], [Int])] = [([3, 50_001], [1]), ([50_001, 3], [0]), ([2, 3001, 5], [0, 1]), ([9, 2, 4099], [0, 2])]
        let small = cases.map { rng.floats($0.0.reduce(1, *)) }
        let references = zip(cases, small).map { c, x in
            ReduceOp.allCases.map { Self.reference($0, x, shape: c.0, axes: c.1) }
        }
        for backend in TestBackends.all {
            let bx = try backend.buffer(big)
            for op in ReduceOp.allCases {
                // The whole tensor, seen as [4M] and as [64, 256, 256] over every axis.
                for (shape, axes) in [([1 << 22], [0]), ([64, 256, 256], [0, 1, 2])] {
                    let got = try Self.run(backend, op, bx, shape: shape, axes: axes, outCount: 1)
                    assertClose(got, [want[op]!], tolerance: op == .max ? 0 : 1e-5, "\(backend.label) \(op) 4M -> 1 as \(shape)")
                }
            }
            for (((shape, axes), x), want) in zip(zip(cases, small), references) {
                let bx = try backend.buffer(x)
                for (op, want) in zip(ReduceOp.allCases, want) {
                    let got = try Self.run(backend, op, bx, shape: shape, axes: axes, outCount: Self.outCount(shape, axes))
                    assertClose(got, want, tolerance: op == .max ? 0 : 1e-5,
                                "\(backend.label) \(op) \(shape) axes \(axes)")
                }
            }
        }
    }

    /// Reductions over leading axes, where the innermost kept dimension is contiguous (the CPU's
    /// vectorised path: blocks of 16 outputs plus a narrower tail), as the modulated-conv gradients do.
    func testReductionsKeepingTheInnermostAxis() throws {
        var rng = TestRNG(seed: 25)
        let cases: [([Int], [Int])] = [([2, 128, 13, 9], [0]), ([4, 64, 11, 7], [1]), ([3, 5, 37], [0, 1]), ([6, 4, 2, 21], [0, 2])]
        for (shape, axes) in cases {
            let x = rng.floats(shape.reduce(1, *), -1, 2)
            for backend in TestBackends.all {
                let bx = try backend.buffer(x)
                for op in ReduceOp.allCases {
                    let got = try Self.run(backend, op, bx, shape: shape, axes: axes, outCount: Self.outCount(shape, axes))
                    assertClose(got, Self.reference(op, x, shape: shape, axes: axes), tolerance: op == .max ? 0 : 1e-6,
                                "\(backend.label) \(op) \(shape) axes \(axes)")
                }
            }
        }
    }

    func testNegativeAxesDuplicatesAndErrors() throws {
        var rng = TestRNG(seed: 23)
        let shape = [4, 6, 5], x = rng.floats(120)
        for backend in TestBackends.all {
            let bx = try backend.buffer(x)
            let got = try Self.run(backend, .sum, bx, shape: shape, axes: [-1, 0, 2], outCount: 6)
            assertClose(got, Self.reference(.sum, x, shape: shape, axes: [0, 2]), tolerance: 1e-6, "\(backend.label) axes [-1, 0, 2]")
            let out = try backend.poisoned(6)
            XCTAssertThrowsError(try backend.reduce(.sum, bx, shape: shape, axes: [3], out), backend.label) { error in
                guard case EngineError.shapeMismatch = error else { return XCTFail("\(backend.label): \(error)") }
            }
            XCTAssertThrowsError(try backend.reduce(.sum, bx, shape: shape, axes: [1], out), "\(backend.label): output too small")
            XCTAssertThrowsError(try backend.reduce(.sum, bx, shape: [2, 1, 1, 1, 1, 1, 1, 1, 1], axes: [0], out), "\(backend.label): rank 9")
        }
    }

    func testParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 24)
        let cases: [([Int], [Int])] = [
            ([2, 1, 3, 2, 1, 2, 3, 5], [1, 3, 6]), ([2, 1, 3, 2, 1, 2, 3, 5], [0, 2, 4, 7]),
            ([4, 33, 9, 9], [0, 2, 3]), ([4, 33, 9, 9], [1]), ([1023, 7], [0]), ([7, 1023], [1]), ([5, 3, 7], []),
        ]
        for (shape, axes) in cases {
            let x = rng.floats(shape.reduce(1, *))
            for op in ReduceOp.allCases {
                let a = try Self.run(cpu, op, try cpu.buffer(x), shape: shape, axes: axes, outCount: Self.outCount(shape, axes))
                let b = try Self.run(cl, op, try cl.buffer(x), shape: shape, axes: axes, outCount: Self.outCount(shape, axes))
                assertClose(b, a, tolerance: op == .max ? 0 : 1e-5, "parity \(op) \(shape) axes \(axes)")
            }
        }
    }

    /// `rowDot` / `channelDot` against Double loops on every backend, outputs poisoned: rows of 1, 7 (a local size of 8
    /// with a masked item), 300 (one strided pass beyond 256) and 20,000, with and without a divisor; then the
    /// gradients of `channelDot` for a, b and the divisor by finite differences.
    func testChannelDot() throws {
        for backend in TestBackends.all {
            for (rows, length) in [(5, 1), (9, 7), (6, 300), (3, 20_000)] {
                var rng = TestRNG(seed: UInt64(rows * length))
                let a = rng.floats(rows * length), b = rng.floats(rows * length), d = rng.floats(rows, 0.5, 2)
                for withDivisor in [false, true] {
                    let expected = (0..<rows).map { r in
                        (0..<length).reduce(0.0) { $0 + Double(a[r * length + $1]) * Double(b[r * length + $1]) }
                            / (withDivisor ? Double(d[r]) : 1)
                    }
                    let out = try backend.poisoned(rows)
                    try backend.rowDot(rows: rows, length: length, try backend.buffer(a), try backend.buffer(b),
                                       divisor: withDivisor ? try backend.buffer(d) : nil, out)
                    assertClose(try backend.array(out), expected, tolerance: 2e-6,
                                "rowDot \(rows)x\(length) divisor \(withDivisor) (\(backend.label))")
                }
            }
            var rng = TestRNG(seed: 41)
            let a = GradInput(values: rng.floats(2 * 3 * 4 * 5), shape: [2, 3, 4, 5])
            let b = GradInput(values: rng.floats(2 * 3 * 4 * 5), shape: [2, 3, 4, 5])
            let d = GradInput(values: rng.floats(6, 0.5, 2), shape: [2, 3])
            try checkGradients(on: backend, [a, b, d], h: 1e-2, tolerance: 3e-3, "channelDot") { t in
                try Tensor.channelDot(t[0], t[1], dividedBy: t[2])
            }
        }
        XCTAssertThrowsError(try Tensor.channelDot(Tensor.zeros([2, 3, 4], on: TestBackends.cpu), Tensor.zeros([2, 3, 5], on: TestBackends.cpu)))
    }
}
