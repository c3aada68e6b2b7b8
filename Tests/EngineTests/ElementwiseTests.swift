import Engine
import TestSupport
import Foundation
import XCTest

/// elementwise.cl (with strided_index.cl) / CPUBackend+Elementwise: naive Double references and OpenCL-vs-CPU parity.
final class ElementwiseTests: XCTestCase {
    static let unaryCases: [(UnaryOp, @Sendable (Double) -> Double, ClosedRange<Float>)] = [
        (.neg, { -$0 }, -3...3), (.sqrt, { $0.squareRoot() }, 0.1...4), (.rsqrt, { 1 / $0.squareRoot() }, 0.1...4),
        (.exp, { Foundation.exp($0) }, -3...3), (.log, { Foundation.log($0) }, 0.1...4), (.square, { $0 * $0 }, -3...3),
        (.abs, { Swift.abs($0) }, -3...3), (.softplus, { Foundation.log(1 + Foundation.exp($0)) }, -20...20),
        (.relu, { Swift.max($0, 0) }, -3...3), (.sign, { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }, -3...3),
        (.reciprocal, { 1 / $0 }, 0.5...3), (.leakyReLU(alpha: 0.2), { $0 > 0 ? $0 : 0.2 * $0 }, -3...3),
        (.scale(2.5), { $0 * 2.5 }, -3...3), (.addScalar(-1.25), { $0 - 1.25 }, -3...3),
        (.powScalar(3), { $0 * $0 * $0 }, -2...2), (.step(threshold: 0.5), { $0 > 0.5 ? 1 : 0 }, -3...3),
        (.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }, -30...30), (.tanh, { Foundation.tanh($0) }, -5...5),
    ]

    func testUnaryMatchesReference() throws {
        var rng = TestRNG(seed: 1)
        for backend in TestBackends.all {
            for (op, ref, range) in Self.unaryCases {
                let x = rng.floats(70001, range.lowerBound, range.upperBound)
                let out = try backend.poisoned(x.count)
                try backend.unary(op, try backend.buffer(x), out, count: x.count)
                assertClose(try backend.array(out), x.map { ref(Double($0)) }, tolerance: 2e-6, "\(backend.label) \(op)")
            }
        }
    }

    func testFillWritesEveryElementAndNoMore() throws {
        for backend in TestBackends.all {
            let b = try backend.poisoned(1027)
            try backend.fill(b, count: 1000, value: 3.5)
            let v = try backend.array(b)
            XCTAssertTrue(v[..<1000].allSatisfy { $0 == 3.5 }, backend.label)
            XCTAssertTrue(v[1000...].allSatisfy(\.isNaN), "\(backend.label): fill wrote past count")
        }
    }

    /// Broadcast [3,1,5] op [1,4,5] -> [3,4,5], and a transposed (strided) view.
    func testBinaryBroadcastMatchesReference() throws {
        var rng = TestRNG(seed: 2)
        let a = rng.floats(15, 0.5, 2), b = rng.floats(20, 0.5, 2)
        let shape = [3, 4, 5]
        let refs: [BinaryOp: @Sendable (Double, Double) -> Double] = [
            .add: (+), .sub: (-), .mul: (*), .div: (/), .pow: { Foundation.pow($0, $1) },
            .maximum: { Swift.max($0, $1) }, .minimum: { Swift.min($0, $1) }, .greater: { $0 > $1 ? 1 : 0 },
        ]
        for backend in TestBackends.all {
            let ba = try backend.buffer(a), bb = try backend.buffer(b)
            for op in BinaryOp.allCases {
                let out = try backend.poisoned(60)
                try backend.binary(op, StridedView(ba, strides: [5, 0, 1]), StridedView(bb, strides: [0, 5, 1]), out, shape: shape)
                var want: [Double] = []
                for i in 0..<3 { for j in 0..<4 { for k in 0..<5 { want.append(refs[op]!(Double(a[i * 5 + k]), Double(b[j * 5 + k]))) } } }
                assertClose(try backend.array(out), want, tolerance: 2e-6, "\(backend.label) \(op)")
            }
            // Transposed read of b viewed as [5,4] with offset 0 and strides [1,5].
            let out = try backend.poisoned(20)
            try backend.binary(.add, StridedView(bb, strides: [1, 5]), StridedView(bb, offset: 0, strides: [0, 0]), out, shape: [5, 4])
            var want: [Double] = []
            for i in 0..<5 { for j in 0..<4 { want.append(Double(b[j * 5 + i]) + Double(b[0])) } }
            assertClose(try backend.array(out), want, tolerance: 1e-6, "\(backend.label) transposed add")
        }
    }

    /// Operand layouts that take each CPU fast path, over [3, 7, 1601] (33 621 elements, so the CPU splits
    /// the work between threads in the middle of a run): same shape (both contiguous), scalar b, scalar
    /// a, per-channel b `[1, 7, 1]` (b constant along each run), per-channel a, b broadcast over the
    /// leading axis `[1, 7, 1601]` (merged to one contiguous run per sample), and a transposed a.
    static let layouts: [(name: String, aCount: Int, aStrides: [Int], bCount: Int, bStrides: [Int])] = [
        ("same shape", 33621, [11207, 1601, 1], 33621, [11207, 1601, 1]),
        ("scalar b", 33621, [11207, 1601, 1], 1, [0, 0, 0]),
        ("scalar a", 1, [0, 0, 0], 33621, [11207, 1601, 1]),
        ("per-channel b", 33621, [11207, 1601, 1], 7, [0, 1, 0]),
        ("per-channel a", 7, [0, 1, 0], 33621, [11207, 1601, 1]),
        ("outer broadcast b", 33621, [11207, 1601, 1], 11207, [0, 1601, 1]),
        ("transposed a", 33621, [1, 3, 21], 7, [0, 1, 0]),
    ]

    static let binaryRefs: [BinaryOp: @Sendable (Double, Double) -> Double] = [
        .add: (+), .sub: (-), .mul: (*), .div: (/), .pow: { Foundation.pow($0, $1) },
        .maximum: { Swift.max($0, $1) }, .minimum: { Swift.min($0, $1) }, .greater: { $0 > $1 ? 1 : 0 },
    ]

    /// Offset of flat index `i` of `shape` through `strides` (explicit index arithmetic).
    static func offset(_ i: Int, _ shape: [Int], _ strides: [Int]) -> Int {
        var rem = i, off = 0
        for d in stride(from: shape.count - 1, through: 0, by: -1) { off += (rem % shape[d]) * strides[d]; rem /= shape[d] }
        return off
    }

    func testBinaryLayoutsMatchReference() throws {
        var rng = TestRNG(seed: 5)
        let shape = [3, 7, 1601], count = 33621
        for backend in TestBackends.all {
            for layout in Self.layouts {
                let a = rng.floats(layout.aCount, 0.5, 2), b = rng.floats(layout.bCount, 0.5, 2)
                let ba = try backend.buffer(a), bb = try backend.buffer(b)
                for op in BinaryOp.allCases {
                    let out = try backend.poisoned(count)
                    try backend.binary(op, StridedView(ba, strides: layout.aStrides), StridedView(bb, strides: layout.bStrides), out, shape: shape)
                    let want = (0..<count).map {
                        Self.binaryRefs[op]!(Double(a[Self.offset($0, shape, layout.aStrides)]), Double(b[Self.offset($0, shape, layout.bStrides)]))
                    }
                    assertClose(try backend.array(out), want, tolerance: 2e-6, "\(backend.label) \(op) \(layout.name)")
                }
            }
        }
    }

    /// NaN, signed zeros and infinities through the CPU's vector forms give exactly what the scalar
    /// Swift expressions of the kernels give (16 values: two full SIMD8 chunks).
    func testCPUSpecialValuesMatchScalarSemantics() throws {
        let cpu = TestBackends.cpu
        let x: [Float] = [.nan, -0.0, 0.0, .infinity, -.infinity, 1, -1, 0.5, -2, 3, .nan, -0.0, 7, -7, 0.25, .leastNonzeroMagnitude]
        let y: [Float] = [1, 0.0, -0.0, .nan, -.infinity, 1, 2, -0.5, -2, .nan, .nan, 0, 7, 8, -0.25, 0]
        let unary: [(UnaryOp, (Float) -> Float)] = [
            (.neg, { -$0 }), (.abs, { Swift.abs($0) }), (.relu, { Swift.max($0, 0) }), (.sign, { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }),
            (.leakyReLU(alpha: 0.2), { $0 > 0 ? $0 : 0.2 * $0 }), (.step(threshold: 0.5), { $0 > 0.5 ? 1 : 0 }),
            (.sqrt, { $0.squareRoot() }), (.rsqrt, { 1 / $0.squareRoot() }), (.reciprocal, { 1 / $0 }),
            (.square, { $0 * $0 }), (.scale(-3), { $0 * -3 }), (.addScalar(2), { $0 + 2 }),
        ]
        let bx = try cpu.buffer(x), by = try cpu.buffer(y)
        for (op, f) in unary {
            let out = try cpu.poisoned(16)
            try cpu.unary(op, bx, out, count: 16)
            LayoutTests.assertBitwise(try cpu.array(out), x.map(f), "unary \(op)")
        }
        let binary: [(BinaryOp, (Float, Float) -> Float)] = [
            (.maximum, { Swift.max($0, $1) }), (.minimum, { Swift.min($0, $1) }), (.greater, { $0 > $1 ? 1 : 0 }),
            (.add, (+)), (.mul, (*)), (.div, (/)),
        ]
        for (op, f) in binary {
            let out = try cpu.poisoned(16)
            try cpu.binary(op, StridedView(bx, strides: [1]), StridedView(by, strides: [1]), out, shape: [16])
            LayoutTests.assertBitwise(try cpu.array(out), zip(x, y).map(f), "binary \(op)")
        }
        let out = try cpu.poisoned(16)
        try cpu.select(StridedView(bx, strides: [1]), StridedView(by, strides: [1]), StridedView(bx, strides: [1]), out, shape: [16])
        LayoutTests.assertBitwise(try cpu.array(out), zip(x, y).map { $0 > 0 ? $1 : $0 }, "select")
    }

    /// Large select: all three contiguous (the CPU's vector path), then a mixed layout (scalar path).
    func testSelectLayoutsMatchReference() throws {
        var rng = TestRNG(seed: 6)
        let shape = [3, 7, 1601], count = 33621, full = [11207, 1601, 1]
        let c = rng.floats(count), a = rng.floats(count), b = rng.floats(7)
        for backend in TestBackends.all {
            let bc = try backend.buffer(c), ba = try backend.buffer(a), bb = try backend.buffer(b)
            for (name, aStrides, bStrides, bValues) in [("contiguous", full, full, a.reversed() as [Float]), ("mixed", [0, 0, 0], [0, 1, 0], b)] {
                let bIn = name == "contiguous" ? try backend.buffer(bValues) : bb
                let out = try backend.poisoned(count)
                try backend.select(StridedView(bc, strides: full), StridedView(ba, strides: aStrides), StridedView(bIn, strides: bStrides), out, shape: shape)
                let want = (0..<count).map { i in
                    Double(c[i] > 0 ? a[Self.offset(i, shape, aStrides)] : bValues[Self.offset(i, shape, bStrides)])
                }
                assertClose(try backend.array(out), want, tolerance: 0, "\(backend.label) select \(name)")
            }
        }
    }

    func testSelectMatchesReference() throws {
        var rng = TestRNG(seed: 3)
        let c = rng.floats(7 * 9), a = rng.floats(7 * 9), b = rng.floats(9)
        for backend in TestBackends.all {
            let out = try backend.poisoned(63)
            try backend.select(StridedView(contiguous: try backend.buffer(c), shape: [7, 9]),
                               StridedView(contiguous: try backend.buffer(a), shape: [7, 9]),
                               StridedView(try backend.buffer(b), strides: [0, 1]), out, shape: [7, 9])
            let want = (0..<63).map { Double(c[$0] > 0 ? a[$0] : b[$0 % 9]) }
            assertClose(try backend.array(out), want, tolerance: 0, "\(backend.label) select")
        }
    }

    func testElementwiseParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 4)
        let shape = [3, 1, 17, 13], other = [1, 5, 17, 1]
        let a = rng.floats(shape.reduce(1, *), 0.2, 2), b = rng.floats(other.reduce(1, *), 0.2, 2)
        let outShape = [3, 5, 17, 13]
        let sa = [17 * 13, 0, 13, 1], sb = [0, 17, 1, 0]
        for op in BinaryOp.allCases {
            var results: [[Float]] = []
            for backend in [cpu, cl] {
                let out = try backend.poisoned(outShape.reduce(1, *))
                try backend.binary(op, StridedView(try backend.buffer(a), strides: sa), StridedView(try backend.buffer(b), strides: sb), out, shape: outShape)
                results.append(try backend.array(out))
            }
            assertClose(results[1], results[0], tolerance: 1e-6, "parity \(op)")
        }
        for (op, _, range) in Self.unaryCases {
            let x = rng.floats(4099, range.lowerBound, range.upperBound)
            var results: [[Float]] = []
            for backend in [cpu, cl] {
                let out = try backend.poisoned(x.count)
                try backend.unary(op, try backend.buffer(x), out, count: x.count)
                results.append(try backend.array(out))
            }
            assertClose(results[1], results[0], tolerance: 1e-6, "parity \(op)")
        }
    }
}
