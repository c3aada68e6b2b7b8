import Engine
import TestSupport
import Foundation
import XCTest

/// gemm.cl / CPUBackend+Gemm: naive Double reference on every backend and OpenCL-vs-CPU parity.
final class GemmTests: XCTestCase {
    /// Naive row-major reference in Double. Elements of `c` outside the batch items are kept.
    static func reference(_ s: GemmShape, _ a: [Float], _ b: [Float], _ c: [Float]) -> [Double] {
        var out = c.map(Double.init)
        for bt in 0..<s.batch {
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var acc = 0.0
                    for p in 0..<s.k {
                        let av = s.transA ? a[s.offsetA + bt * s.strideA + p * s.m + i] : a[s.offsetA + bt * s.strideA + i * s.k + p]
                        let bv = s.transB ? b[s.offsetB + bt * s.strideB + j * s.k + p] : b[s.offsetB + bt * s.strideB + p * s.n + j]
                        acc += Double(av) * Double(bv)
                    }
                    let ci = s.offsetC + bt * s.strideC + i * s.n + j
                    out[ci] = Double(s.alpha) * acc + (s.beta == 0 ? 0 : Double(s.beta) * Double(c[ci]))
                }
            }
        }
        return out
    }

    /// Elements each operand buffer needs for `s` (offset + last item + one matrix).
    static func extents(_ s: GemmShape) -> (a: Int, b: Int, c: Int) {
        (s.offsetA + (s.batch - 1) * s.strideA + s.m * s.k, s.offsetB + (s.batch - 1) * s.strideB + s.k * s.n,
         s.offsetC + (s.batch - 1) * s.strideC + s.m * s.n)
    }

    /// Runs `s` on `backend` with random A, B (and C when beta != 0; NaN-poisoned C when beta == 0, where
    /// the reference treats the old C as 0) and compares with the reference, including the untouched
    /// elements of C outside the batch items.
    func check(_ s: GemmShape, on backend: any Backend, seed: UInt64, tolerance: Double = 1e-5,
               file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = TestRNG(seed: seed)
        let (na, nb, nc) = Self.extents(s)
        let a = rng.floats(na), b = rng.floats(nb)
        let c0 = s.beta == 0 ? [Float](repeating: .nan, count: nc) : rng.floats(nc)
        let c = try backend.buffer(c0)
        try backend.gemm(s, a: try backend.buffer(a), b: try backend.buffer(b), c: c)
        var want = Self.reference(s, a, b, c0.map { $0.isNaN ? 0 : $0 })
        // Elements of C no batch item covers must keep their old value (NaN here when beta == 0).
        var covered = [Bool](repeating: false, count: nc)
        for bt in 0..<s.batch { for i in 0..<(s.m * s.n) { covered[s.offsetC + bt * s.strideC + i] = true } }
        let got = try backend.array(c)
        for i in 0..<nc where !covered[i] {
            XCTAssertEqual(got[i].bitPattern, c0[i].bitPattern, "\(backend.label): gemm wrote C[\(i)] outside its items",
                           file: file, line: line)
            want[i] = 0
        }
        assertClose(covered.indices.map { covered[$0] ? got[$0] : 0 }, want, tolerance: tolerance,
                    "\(backend.label) gemm m=\(s.m) n=\(s.n) k=\(s.k) tA=\(s.transA) tB=\(s.transB) batch=\(s.batch) "
                    + "strides=(\(s.strideA),\(s.strideB),\(s.strideC)) alpha=\(s.alpha) beta=\(s.beta)", file: file, line: line)
    }

    static let transposes = [(false, false), (true, false), (false, true), (true, true)]

    func testGemmMatchesReferenceAllTransposes() throws {
        for backend in TestBackends.all {
            for (ta, tb) in Self.transposes {
                for batch in [1, 3] {
                    try check(GemmShape(m: 13, n: 37, k: 19, transA: ta, transB: tb, batch: batch, alpha: 1.5, beta: 0),
                              on: backend, seed: 10)
                }
            }
        }
    }

    /// Sizes that are not multiples of any tile (CPU 6×16, OpenCL 32/64/128), degenerate ones, and a
    /// depth past one CPU kc block (256).
    func testGemmAwkwardSizes() throws {
        let sizes = [(1, 1, 1), (1, 17, 5), (7, 1, 300), (65, 33, 129), (6, 16, 8), (31, 70, 2), (130, 66, 17)]
        for backend in TestBackends.all {
            for (index, (m, n, k)) in sizes.enumerated() {
                for (ta, tb) in Self.transposes {
                    try check(GemmShape(m: m, n: n, k: k, transA: ta, transB: tb), on: backend, seed: UInt64(20 + index))
                }
            }
        }
    }

    /// Shapes large enough that the OpenCL backend picks its biggest (128×128) tile and the CPU backend
    /// splits C over threads (by rows; by columns when m is one micro-tile), with k spanning several K
    /// tiles and two CPU kc blocks.
    func testGemmLargeTiles() throws {
        for backend in TestBackends.all {
            for (ta, tb) in Self.transposes {
                try check(GemmShape(m: 140, n: 150, k: 290, transA: ta, transB: tb), on: backend, seed: 30, tolerance: 2e-5)
                try check(GemmShape(m: 5, n: 700, k: 160, transA: ta, transB: tb), on: backend, seed: 31)
            }
        }
    }

    /// Few rows (a fully connected layer on a small batch; the CPU's unpacked path for m ≤ 8): every
    /// transpose, row counts around its 4-row passes, column counts around its 16/8-column steps, a long
    /// reduction that is no multiple of 8, alpha and beta, batches with a broadcast B.
    func testGemmFewRows() throws {
        for backend in TestBackends.all {
            for (ta, tb) in Self.transposes {
                for (index, (m, n, k)) in [(1, 40, 1029), (2, 3, 7), (4, 1000, 517), (5, 37, 64), (8, 1027, 33)].enumerated() {
                    try check(GemmShape(m: m, n: n, k: k, transA: ta, transB: tb), on: backend, seed: UInt64(60 + index), tolerance: 2e-5)
                }
                try check(GemmShape(m: 3, n: 45, k: 23, transA: ta, transB: tb, batch: 3, strideB: 0, alpha: -0.75, beta: 0.5),
                          on: backend, seed: 66)
            }
        }
    }

    func testGemmAlphaBeta() throws {
        for backend in TestBackends.all {
            for (ta, tb) in Self.transposes {
                try check(GemmShape(m: 19, n: 45, k: 23, transA: ta, transB: tb, batch: 3, alpha: -0.75, beta: 0.5),
                          on: backend, seed: 40)
            }
            try check(GemmShape(m: 70, n: 20, k: 33, batch: 1, alpha: 2, beta: 1), on: backend, seed: 41)
            // k == 0: C = beta·C, and zero (not NaN) when beta == 0.
            try check(GemmShape(m: 5, n: 9, k: 0, batch: 2, alpha: 3, beta: 0.25), on: backend, seed: 42)
            try check(GemmShape(m: 5, n: 9, k: 0, batch: 2, alpha: 3, beta: 0), on: backend, seed: 43)
        }
    }

    /// strideB = 0 broadcasts one B over the batch (and strideA = 0 one A); padded strides and offsets
    /// leave the gaps of C untouched.
    func testGemmBroadcastStridesAndOffsets() throws {
        for backend in TestBackends.all {
            for (ta, tb) in Self.transposes {
                try check(GemmShape(m: 11, n: 21, k: 9, transA: ta, transB: tb, batch: 3, strideB: 0, alpha: 1, beta: 0),
                          on: backend, seed: 50)
                try check(GemmShape(m: 11, n: 21, k: 9, transA: ta, transB: tb, batch: 3, strideA: 0, alpha: 1, beta: 0),
                          on: backend, seed: 51)
                try check(GemmShape(m: 10, n: 17, k: 12, transA: ta, transB: tb, batch: 3,
                                    strideA: 10 * 12 + 5, strideB: 12 * 17 + 3, strideC: 10 * 17 + 7,
                                    offsetA: 4, offsetB: 9, offsetC: 6, alpha: 1.25, beta: 0),
                          on: backend, seed: 52)
                try check(GemmShape(m: 10, n: 17, k: 12, transA: ta, transB: tb, batch: 2, strideC: 10 * 17 + 2,
                                    offsetA: 1, offsetB: 2, offsetC: 3, alpha: 0.5, beta: -1),
                          on: backend, seed: 53)
            }
        }
    }

    func testGemmRejectsOutOfRangeShapes() throws {
        for backend in TestBackends.all {
            let a = try backend.allocate(12), b = try backend.allocate(12), c = try backend.allocate(8)
            XCTAssertThrowsError(try backend.gemm(GemmShape(m: 3, n: 3, k: 4), a: a, b: b, c: c), backend.label)
            XCTAssertThrowsError(try backend.gemm(GemmShape(m: 2, n: 3, k: 4, offsetA: 8), a: a, b: b, c: c), backend.label)
        }
    }

    func testGemmParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        var rng = TestRNG(seed: 60)
        let shapes = [GemmShape(m: 97, n: 131, k: 75, batch: 3, strideB: 0, alpha: 0.5, beta: 0),
                      GemmShape(m: 130, n: 70, k: 290, transA: true, batch: 1, alpha: 1, beta: 0),
                      GemmShape(m: 33, n: 200, k: 64, transB: true, batch: 2, alpha: 1, beta: 0.5),
                      GemmShape(m: 64, n: 64, k: 64, transA: true, transB: true, batch: 3, alpha: 2, beta: 0)]
        for s in shapes {
            let (na, nb, nc) = Self.extents(s)
            let a = rng.floats(na), b = rng.floats(nb), c0 = rng.floats(nc)
            var outs: [[Float]] = []
            for backend in [cpu, cl] {
                let c = try backend.buffer(c0)
                try backend.gemm(s, a: try backend.buffer(a), b: try backend.buffer(b), c: c)
                outs.append(try backend.array(c))
            }
            assertClose(outs[1], outs[0], tolerance: 1e-5, "gemm parity m=\(s.m) n=\(s.n) k=\(s.k) tA=\(s.transA) tB=\(s.transB)")
        }
    }

    /// Prints GFLOP/s of 1024³ (and a few network-like shapes) per backend. Only with HISTOGAN_TIMING=1,
    /// and meaningful in release: `HISTOGAN_TIMING=1 swift test -c release --filter GemmTests/testGemmTiming`.
    func testGemmTiming() throws {
        guard ProcessInfo.processInfo.environment["HISTOGAN_TIMING"] == "1" else {
            throw XCTSkip("timing only with HISTOGAN_TIMING=1")
        }
        let shapes = [GemmShape(m: 1024, n: 1024, k: 1024), GemmShape(m: 1024, n: 1024, k: 1024, transA: true, transB: true),
                      GemmShape(m: 512, n: 4096, k: 4608), GemmShape(m: 64, n: 512, k: 512, batch: 16)]
        var rng = TestRNG(seed: 70)
        // PoCL on the CPU is not worth timing; a GPU is.
        let backends: [any Backend] = [TestBackends.cpu, CPUBackend(threads: 1)]
            + TestBackends.all.filter { $0.info.deviceType.uppercased().contains("GPU") }
        for backend in backends {
            for s in shapes {
                let (na, nb, nc) = Self.extents(s)
                let a = try backend.buffer(rng.floats(na)), b = try backend.buffer(rng.floats(nb)), c = try backend.allocate(nc)
                try backend.gemm(s, a: a, b: b, c: c)
                try backend.synchronize()
                // Wall clock (best of 10) and, for the CPU, flops per second of process CPU time: the
                // latter is per core and barely affected by other processes sharing the machine.
                var best = Double.infinity
                let cpuStart = clock()
                for _ in 0..<10 {
                    let t = Date()
                    try backend.gemm(s, a: a, b: b, c: c)
                    try backend.synchronize()
                    best = min(best, Date().timeIntervalSince(t))
                }
                let cpuSeconds = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC)
                let threads = (backend as? CPUBackend).map { " \($0.threads) threads" } ?? ""
                print(String(format: "gemm %@%@ m=%d n=%d k=%d batch=%d tA=%d tB=%d: %.1f GFLOP/s (best of 10: %.2f ms), %.1f GFLOP/s per CPU-second",
                             backend.label, threads, s.m, s.n, s.k, s.batch, s.transA ? 1 : 0, s.transB ? 1 : 0,
                             s.flops / best / 1e9, best * 1e3, 10 * s.flops / cpuSeconds / 1e9))
            }
        }
    }
}
