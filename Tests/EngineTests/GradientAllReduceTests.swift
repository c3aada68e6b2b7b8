import Engine
import Foundation
import TestSupport
import XCTest

final class GradientAllReduceTests: XCTestCase {
    /// Three parameters of awkward sizes (one without a gradient), buckets of 3 floats: every bucket is one call, the
    /// sums equal a naive per-element sum, the flags decide which gradients exist, and the extra values come back summed.
    func testBucketedSumMatchesNaiveSumAndKeepsMissingGradients() throws {
        let backend = TestBackends.cpu
        var rng = TestRNG(seed: 4)
        let shapes = [[2, 3], [5], [1, 1, 7]]
        let params = try shapes.enumerated().map { i, s in
            Parameter(name: "p\(i)", value: try Tensor((0..<s.reduce(1, *)).map { _ in rng.uniform() }, shape: s, on: backend))
        }
        let local: [[Float]?] = [params[0].value.count, nil, params[2].value.count].map { n in
            n.map { (0..<$0).map { _ in rng.uniform() - 0.5 } }
        }
        for (p, g) in zip(params, local) { p.grad = try g.map { try Tensor($0, shape: p.shape, on: backend) } }
        let extra: [Float] = [1.5, -2, 0.25]
        // The other ranks: a fixed pattern per flat position (so bucket offsets matter), no gradient for p1 anywhere.
        let gradientCount = 6 + 5 + 7
        let flagStart = gradientCount, extraStart = gradientCount + 3
        func otherRanks(_ flat: Int) -> Double {
            if flat < gradientCount { return (6..<11).contains(flat) ? 0 : Double(flat % 5) * 0.125 - 0.3 }
            if flat < extraStart { return flat == flagStart + 1 ? 0 : 2 }   // two other ranks have p0 and p2
            return Double(flat - extraStart) + 10
        }
        let bucket = 3
        let comm = SimulatedRanks(rank: 1, size: 3) { call, i in otherRanks(call * bucket + i) }
        let summed = try GradientAllReduce(bucketBytes: bucket * 4).run(params, extra: extra, communicator: comm)

        let total = gradientCount + 3 + extra.count
        XCTAssertEqual(comm.callSizes, Array(repeating: bucket, count: total / bucket) + (total % bucket > 0 ? [total % bucket] : []))
        XCTAssertNil(params[1].grad, "a parameter without a gradient on any rank must stay without one")
        var flat = 0
        for (p, g) in zip(params, local) {
            defer { flat += p.value.count }
            guard let g else { continue }
            let expected = g.enumerated().map { Double($0.element) + otherRanks(flat + $0.offset) }
            assertClose(try XCTUnwrap(p.grad).array(), expected, tolerance: 1e-7, "summed gradient of \(p.name)")
        }
        XCTAssertEqual(summed, extra.enumerated().map { $0.element + Float(otherRanks(extraStart + $0.offset)) })
    }

    /// allGather places each rank's values in its own slot of a zeroed buffer: the result is exact.
    func testAllGatherIsExactSlotPlacement() throws {
        // Rank 2 of 3: the others sent [7, 8] (rank 0) and [-1, 0.1] (rank 1) into their slots.
        let theirs: [Float] = [7, 8, -1, 0.1, 0, 0]
        let comm = SimulatedRanks(rank: 2, size: 3) { _, i in Double(theirs[i]) }
        XCTAssertEqual(try comm.allGather([3.25, 1e-30]), [[7, 8], [-1, 0.1], [3.25, 1e-30]])
        let hashes = SimulatedRanks(rank: 0, size: 2) { _, i in [0, 0, Double(0xdead_beef), Double(0x0123_4567)][i] }
        XCTAssertEqual(try hashes.allGather(UInt64(0xffff_ffff_0000_0001)), [0xffff_ffff_0000_0001, 0xdead_beef_0123_4567])
    }

    /// Without an MPI launcher in the environment no library is loaded and the job is one rank.
    func testNoLauncherMeansSingleProcess() throws {
        let comm = try Distributed.communicator(environment: ["PATH": "/usr/bin"])
        XCTAssertEqual(comm.size, 1)
        XCTAssertTrue(comm is SingleProcessCommunicator)
        XCTAssertTrue(Distributed.launchedByMPI(environment: ["OMPI_COMM_WORLD_SIZE": "2"]))
        XCTAssertEqual(Distributed.localRank(environment: ["OMPI_COMM_WORLD_LOCAL_RANK": "3"]), 3)
        // A launcher but no loadable library: a clear error naming what was tried.
        XCTAssertThrowsError(try Distributed.communicator(library: "/nonexistent/libmpi.so", environment: ["PMI_SIZE": "2"])) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/libmpi.so"), "\(error)")
        }
    }
}
