import Engine
import TestSupport
import Foundation
import XCTest

/// random.cl / CPUBackend+Random / Philox: Random123 known answers, bitwise CPU-vs-OpenCL uniform
/// output, normal parity and moments, and offset continuity.
final class RandomTests: XCTestCase {
    /// Random123 kat_vectors for philox4x32-10: (counter, key, output).
    static let knownAnswers: [(SIMD4<UInt32>, SIMD2<UInt32>, SIMD4<UInt32>)] = [
        (SIMD4(0, 0, 0, 0), SIMD2(0, 0), SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
        (SIMD4(repeating: 0xffff_ffff), SIMD2(repeating: 0xffff_ffff), SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
        (SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2(0xa409_3822, 0x299f_31d0),
         SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
    ]

    func testPhiloxKnownAnswers() {
        for (counter, key, want) in Self.knownAnswers {
            XCTAssertEqual(Philox.block(counter: counter, key: key), want, "counter \(counter) key \(key)")
        }
    }

    /// The kernels' counter is (lo32(block), hi32(block), 0, 0), so the first known answer is reachable
    /// directly (seed 0, offset 0); for the others the lanes the kernels can reach are checked against
    /// the integer function at extreme seeds and offsets (including the 32-bit carry into hi32).
    func testKernelsReproduceKnownAnswers() throws {
        let zero = Self.knownAnswers[0].2
        let cases: [(seed: UInt64, offset: UInt64)] = [(0, 0), (.max, .max - 3), (0x299f_31d0_a409_3822, 0xffff_fffe), (12345, 1 << 40)]
        for backend in TestBackends.all {
            for (seed, offset) in cases {
                let out = try backend.poisoned(18)
                try backend.random(.uniform, seed: seed, offset: offset, out, count: 17)
                let got = try backend.array(out)
                var want: [Float] = []
                for b in 0..<5 {
                    let x = Philox.block(seed: seed, index: offset &+ UInt64(b))
                    want += (0..<4).map { Float(x[$0] >> 8) * 0x1p-24 }
                }
                XCTAssertEqual(got[..<17].map(\.bitPattern), want[..<17].map(\.bitPattern), "\(backend.label) seed \(seed) offset \(offset)")
                XCTAssertTrue(got[17].isNaN, "\(backend.label): wrote past count")
                if seed == 0, offset == 0 {
                    XCTAssertEqual(got[..<4].map { UInt32($0 * 0x1p24) }, (0..<4).map { zero[$0] >> 8 }, "\(backend.label) known answer 0")
                }
            }
            // Box–Muller written out on the first known answer.
            var want: [Double] = []
            for p in 0..<2 {
                let u1 = Double((zero[2 * p] >> 8) + 1) * 0x1p-24, u2 = Double(zero[2 * p + 1] >> 8) * 0x1p-24
                let r = (-2 * Foundation.log(u1)).squareRoot()
                want += [r * Foundation.cos(2 * .pi * u2), r * Foundation.sin(2 * .pi * u2)]
            }
            let out = try backend.poisoned(4)
            try backend.random(.normal, seed: 0, offset: 0, out, count: 4)
            assertClose(try backend.array(out), want, tolerance: 1e-6, "\(backend.label) normal from known answer 0")
        }
    }

    func testUniformBitwiseAndNormalParityOpenCLvsCPU() throws {
        let cl = try TestBackends.requireOpenCL(), cpu = TestBackends.cpu
        for (count, seed, offset) in [(1, 7 as UInt64, 0 as UInt64), (7, 1, 3), (1023, 0xdead_beef_cafe, 99), (4099, 42, 1 << 33)] {
            for dist in RandomDistribution.allCases {
                var results: [[Float]] = []
                for backend in [cpu, cl] {
                    let out = try backend.poisoned(count + 1)
                    try backend.random(dist, seed: seed, offset: offset, out, count: count)
                    let v = try backend.array(out)
                    XCTAssertTrue(v[count].isNaN, "\(backend.label) \(dist): wrote past count")
                    results.append(Array(v[..<count]))
                }
                if dist == .uniform {
                    XCTAssertEqual(results[1].map(\.bitPattern), results[0].map(\.bitPattern), "uniform n=\(count) bitwise parity")
                } else {
                    assertClose(results[1], results[0], tolerance: 1e-5, "normal n=\(count) parity")
                }
            }
        }
    }

    /// 100k draws: uniform mean 1/2, variance 1/12, in [0, 1); normal mean 0, variance 1, finite.
    func testMomentsOf100kDraws() throws {
        let n = 100_000
        for backend in TestBackends.all {
            for dist in RandomDistribution.allCases {
                let out = try backend.poisoned(n)
                try backend.random(dist, seed: 2024, offset: 0, out, count: n)
                let v = try backend.array(out).map(Double.init)
                let mean = v.reduce(0, +) / Double(n)
                let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
                // Tolerances are about 5 standard errors.
                if dist == .uniform {
                    XCTAssertTrue(v.allSatisfy { $0 >= 0 && $0 < 1 }, "\(backend.label) uniform range")
                    XCTAssertEqual(mean, 0.5, accuracy: 5 * (1.0 / 12 / Double(n)).squareRoot(), "\(backend.label) uniform mean")
                    XCTAssertEqual(variance, 1.0 / 12, accuracy: 5 * (1.0 / 180 / Double(n)).squareRoot(), "\(backend.label) uniform variance")
                } else {
                    XCTAssertTrue(v.allSatisfy(\.isFinite), "\(backend.label) normal finite")
                    XCTAssertEqual(mean, 0, accuracy: 5 / Double(n).squareRoot(), "\(backend.label) normal mean")
                    XCTAssertEqual(variance, 1, accuracy: 5 * (2 / Double(n)).squareRoot(), "\(backend.label) normal variance")
                    let tail = v.filter { abs($0) > 3 }.count
                    XCTAssertEqual(Double(tail) / Double(n), 0.0027, accuracy: 0.0012, "\(backend.label) normal |x| > 3 fraction")
                }
            }
        }
    }

    /// Numbers drawn at offset k equal elements 4k... of a longer draw from offset 0, on every backend.
    func testOffsetContinuity() throws {
        for backend in TestBackends.all {
            for dist in RandomDistribution.allCases {
                let long = try backend.poisoned(4099)
                try backend.random(dist, seed: 77, offset: 0, long, count: 4099)
                let whole = try backend.array(long)
                for k in [1, 5, 1000] {
                    let count = 4099 - 4 * k
                    let part = try backend.poisoned(count)
                    try backend.random(dist, seed: 77, offset: UInt64(k), part, count: count)
                    XCTAssertEqual(try backend.array(part).map(\.bitPattern), whole[(4 * k)...].map(\.bitPattern),
                                   "\(backend.label) \(dist) offset \(k)")
                }
                let otherSeed = try backend.poisoned(16)
                try backend.random(dist, seed: 78, offset: 0, otherSeed, count: 16)
                XCTAssertNotEqual(try backend.array(otherSeed), Array(whole[..<16]), "\(backend.label) \(dist): seed ignored")
            }
        }
    }

    /// The CPU's vectorised Float Box–Muller (eight blocks at a time, polynomial log, sin and cos) against
    /// Box–Muller in Double on the same Philox words, over 40 003 numbers (all four lanes, a partial
    /// last block, groups of eight split by the thread chunks): relative L2 and worst absolute error.
    func testCPUNormalMatchesDoubleBoxMuller() throws {
        let cpu = TestBackends.cpu, count = 40_003, seed: UInt64 = 0xfeed_f00d, offset: UInt64 = (1 << 32) - 5
        let out = try cpu.poisoned(count + 1)
        try cpu.random(.normal, seed: seed, offset: offset, out, count: count)
        let got = try cpu.array(out)
        XCTAssertTrue(got[count].isNaN, "wrote past count")
        var want: [Double] = []
        for b in 0..<((count + 3) / 4) {
            let x = Philox.block(seed: seed, index: offset + UInt64(b))
            for p in 0..<2 {
                let u1 = Double((x[2 * p] >> 8) + 1) * 0x1p-24, u2 = Double(x[2 * p + 1] >> 8) * 0x1p-24
                let r = (-2 * Foundation.log(u1)).squareRoot()
                want += [r * Foundation.cos(2 * .pi * u2), r * Foundation.sin(2 * .pi * u2)]
            }
        }
        want = Array(want[..<count])
        assertClose(Array(got[..<count]), want, tolerance: 2e-7, "CPU normal vs Double Box–Muller")
        let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1.5e-6, "worst absolute error")
    }

    /// The CPU numbers do not depend on how many threads draw them.
    func testCPUThreadCountIndependence() throws {
        let one = CPUBackend(threads: 1), many = CPUBackend(threads: 8)
        for dist in RandomDistribution.allCases {
            var results: [[UInt32]] = []
            for backend in [one, many] {
                let out = try backend.poisoned(100_003)
                try backend.random(dist, seed: 5, offset: 11, out, count: 100_003)
                results.append(try backend.array(out).map(\.bitPattern))
            }
            XCTAssertEqual(results[0], results[1], "\(dist): 1 thread vs 8")
        }
    }
}
