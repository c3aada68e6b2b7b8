import Engine
import TestSupport
import XCTest

/// gemm.cl / CPUBackend+Gemm: naive Double reference and OpenCL-vs-CPU parity.
final class GemmTests: XCTestCase {
    /// Naive row-major reference in Double.
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

    func testGemmMatchesReferenceAllTransposes() throws {
        var rng = TestRNG(seed: 10)
        for backend in TestBackends.all {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let s = GemmShape(m: 13, n: 37, k: 19, transA: ta, transB: tb, batch: 3, alpha: 1.5, beta: 0)
                let a = rng.floats(s.m * s.k * 3), b = rng.floats(s.k * s.n * 3)
                let c = try backend.poisoned(s.m * s.n * 3)
                try backend.gemm(s, a: try backend.buffer(a), b: try backend.buffer(b), c: c)
                assertClose(try backend.array(c), Self.reference(s, a, b, [Float](repeating: 0, count: s.m * s.n * 3)),
                            tolerance: 1e-5, "\(backend.label) gemm tA=\(ta) tB=\(tb)")
            }
        }
    }
}
