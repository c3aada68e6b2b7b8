import Engine
import TestSupport
import XCTest

/// layout.cl / CPUBackend+Layout: the one strided copy used as permute, slice, concat, expand and
/// tile, checked bitwise against index arithmetic on every backend, plus OpenCL-vs-CPU parity.
final class LayoutTests: XCTestCase {
    /// One `copy` call: `src` read through (offset, strides) into the destination through its own.
    struct Piece {
        var src: [Float], srcOffset = 0, srcStrides: [Int]
        var dstOffset = 0, dstStrides: [Int]
        var shape: [Int]
    }

    /// A layout operation: pieces copied in order into one NaN-poisoned destination of `dstCount`.
    struct Case {
        var name: String
        var dstCount: Int
        var pieces: [Piece]

        /// Reference by explicit index arithmetic; untouched elements stay NaN.
        var expected: [Float] {
            var dst = [Float](repeating: .nan, count: dstCount)
            for p in pieces {
                var idx = [Int](repeating: 0, count: p.shape.count)
                for i in 0..<p.shape.reduce(1, *) {
                    var rem = i
                    for d in stride(from: p.shape.count - 1, through: 0, by: -1) { idx[d] = rem % p.shape[d]; rem /= p.shape[d] }
                    let s = p.srcOffset + zip(idx, p.srcStrides).reduce(0) { $0 + $1.0 * $1.1 }
                    let t = p.dstOffset + zip(idx, p.dstStrides).reduce(0) { $0 + $1.0 * $1.1 }
                    dst[t] = p.src[s]
                }
            }
            return dst
        }

        func run(_ backend: any Backend) throws -> [Float] {
            let dst = try backend.poisoned(dstCount)
            for p in pieces {
                try backend.copy(StridedView(try backend.buffer(p.src), offset: p.srcOffset, strides: p.srcStrides),
                                 to: StridedView(dst, offset: p.dstOffset, strides: p.dstStrides), shape: p.shape)
            }
            return try backend.array(dst)
        }
    }

    static func contiguous(_ shape: [Int]) -> [Int] { StridedView.contiguousStrides(shape) }

    /// [2, 3, 4, 5] permuted to axes (0, 2, 3, 1).
    static func permute(_ rng: inout TestRNG) -> Case {
        let shape = [2, 3, 4, 5], perm = [0, 2, 3, 1], strides = contiguous(shape), out = perm.map { shape[$0] }
        return Case(name: "permute (0,2,3,1)", dstCount: 120,
                    pieces: [Piece(src: rng.floats(120), srcStrides: perm.map { strides[$0] }, dstStrides: contiguous(out), shape: out)])
    }

    /// x[1..<5, 2..<6] of a [6, 7] matrix, and x[5:0:-2, 6::-3] (negative steps) after it in dst.
    static func slice(_ rng: inout TestRNG) -> Case {
        let x = rng.floats(42)
        return Case(name: "slice", dstCount: 25, pieces: [
            Piece(src: x, srcOffset: 1 * 7 + 2, srcStrides: [7, 1], dstStrides: [4, 1], shape: [4, 4]),
            Piece(src: x, srcOffset: 5 * 7 + 6, srcStrides: [-14, -3], dstOffset: 16, dstStrides: [3, 1], shape: [3, 3]),
        ])
    }

    /// a [2, 3, 4] and b [2, 5, 4] into one [2, 8, 4] along axis 1.
    static func concat(_ rng: inout TestRNG) -> Case {
        Case(name: "concat axis 1", dstCount: 64, pieces: [
            Piece(src: rng.floats(24), srcStrides: contiguous([2, 3, 4]), dstStrides: [32, 4, 1], shape: [2, 3, 4]),
            Piece(src: rng.floats(40), srcStrides: contiguous([2, 5, 4]), dstOffset: 3 * 4, dstStrides: [32, 4, 1], shape: [2, 5, 4]),
        ])
    }

    /// [3, 1, 5] expanded to [3, 4, 5] (stride 0), and element 4 broadcast to [7, 3] after it.
    static func expand(_ rng: inout TestRNG) -> Case {
        let x = rng.floats(15)
        return Case(name: "expand", dstCount: 81, pieces: [
            Piece(src: x, srcStrides: [5, 0, 1], dstStrides: contiguous([3, 4, 5]), shape: [3, 4, 5]),
            Piece(src: x, srcOffset: 4, srcStrides: [0, 0], dstOffset: 60, dstStrides: [3, 1], shape: [7, 3]),
        ])
    }

    /// [2, 3] repeated (2, 3) times into [4, 9], as one copy over [rep0, 2, rep1, 3].
    static func tile(_ rng: inout TestRNG) -> Case {
        Case(name: "tile", dstCount: 36,
             pieces: [Piece(src: rng.floats(6), srcStrides: [0, 3, 0, 1], dstStrides: [18, 9, 3, 1], shape: [2, 2, 3, 3])])
    }

    /// Contiguous runs of awkward lengths into the middle of a bigger buffer, and a rank-8 permutation.
    static func awkward(_ rng: inout TestRNG) -> [Case] {
        var cases = [1, 7, 1023, 4099].map { n in
            Case(name: "run of \(n)", dstCount: n + 7,
                 pieces: [Piece(src: rng.floats(n + 3), srcOffset: 3, srcStrides: [1], dstOffset: 2, dstStrides: [1], shape: [n])])
        }
        // Long runs split between threads mid-run (CPU chunks of 16k elements): columns 3..<8500 of a
        // [5, 9000] matrix, and a [211, 199] transpose (strided inner runs).
        cases.append(Case(name: "long slice", dstCount: 5 * 8497 + 1,
                          pieces: [Piece(src: rng.floats(45000), srcOffset: 3, srcStrides: [9000, 1], dstOffset: 1,
                                         dstStrides: [8497, 1], shape: [5, 8497])]))
        cases.append(Case(name: "long transpose", dstCount: 211 * 199,
                          pieces: [Piece(src: rng.floats(211 * 199), srcStrides: [1, 211], dstStrides: [199, 1], shape: [211, 199])]))
        let shape = [2, 3, 1, 2, 5, 2, 3, 2], perm = [7, 1, 4, 0, 2, 6, 3, 5], strides = contiguous(shape)
        let out = perm.map { shape[$0] }
        cases.append(Case(name: "rank-8 permute", dstCount: 720,
                          pieces: [Piece(src: rng.floats(720), srcStrides: perm.map { strides[$0] }, dstStrides: contiguous(out), shape: out)]))
        return cases
    }

    static func allCases() -> [Case] {
        var rng = TestRNG(seed: 30)
        return [permute(&rng), slice(&rng), concat(&rng), expand(&rng), tile(&rng)] + awkward(&rng)
    }

    /// Asserts bitwise equality (NaN where nothing may be written).
    static func assertBitwise(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let bad = got.indices.filter { got[$0].bitPattern != want[$0].bitPattern }
        if got.count != want.count || !bad.isEmpty {
            XCTFail("\(what): \(bad.count) mismatches, first \(bad.prefix(6).map { "[\($0)] got \(got[$0]) want \(want[$0])" })",
                    file: file, line: line)
        }
    }

    func check(_ c: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let want = c.expected
        for backend in TestBackends.all {
            Self.assertBitwise(try c.run(backend), want, "\(backend.label) \(c.name)", file: file, line: line)
        }
    }

    func testPermute() throws { var rng = TestRNG(seed: 1); try check(Self.permute(&rng)) }
    func testSlice() throws { var rng = TestRNG(seed: 2); try check(Self.slice(&rng)) }
    func testConcat() throws { var rng = TestRNG(seed: 3); try check(Self.concat(&rng)) }
    func testExpand() throws { var rng = TestRNG(seed: 4); try check(Self.expand(&rng)) }
    func testTile() throws { var rng = TestRNG(seed: 5); try check(Self.tile(&rng)) }
    func testAwkwardSizesAndRank8() throws { var rng = TestRNG(seed: 6); for c in Self.awkward(&rng) { try check(c) } }

    func testParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL()
        for c in Self.allCases() {
            Self.assertBitwise(try c.run(cl), try c.run(TestBackends.cpu), "parity \(c.name)")
        }
    }

    func testOutOfRangeViewsThrow() throws {
        for backend in TestBackends.all {
            let src = try backend.buffer([Float](repeating: 1, count: 12)), dst = try backend.poisoned(12)
            for (s, d) in [(StridedView(src, offset: 1, strides: [4, 1]), StridedView(dst, strides: [4, 1])),
                           (StridedView(src, strides: [4, 1]), StridedView(dst, offset: 0, strides: [5, 1])),
                           (StridedView(src, offset: 0, strides: [-4, 1]), StridedView(dst, strides: [4, 1]))] {
                XCTAssertThrowsError(try backend.copy(s, to: d, shape: [3, 4]), backend.label) { error in
                    guard case EngineError.shapeMismatch = error else { return XCTFail("\(backend.label): \(error)") }
                }
            }
            XCTAssertThrowsError(try backend.copy(StridedView(src, strides: [1]), to: StridedView(dst, strides: [1, 1]), shape: [3]))
            XCTAssertTrue(try backend.array(dst).allSatisfy(\.isNaN), "\(backend.label): a rejected copy wrote")
        }
    }
}
