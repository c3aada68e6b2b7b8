import Engine
import TestSupport
import Foundation
import XCTest

/// conv2d.cl's TF32 path (`--tf32`), through tf32.cl's emulated `mma.sync` (see TF32GemmTests): every conv tile,
/// forward, grad-input and grad-weight, split-K, stride 2 with groups and both scales. The inputs are rounded to TF32
/// first, so the CPU backend's fp32 convolution of the same values is the reference (only the order of the fp32 sums
/// differs); a misplaced fragment or accumulator is off by O(1).
final class TF32ConvTests: XCTestCase {
    func requireEmulated() throws -> (cl: OpenCLBackend, cpu: any Backend) {
        _ = try TestBackends.requireOpenCL()
        return (try XCTUnwrap(TF32GemmTests.emulated, "the emulated TF32 backend did not open"), TestBackends.cpu)
    }

    /// `count` values uniform in [-1, 1), rounded to TF32 unless `round` is false.
    static func values(_ count: Int, seed: UInt64, round: Bool = true) -> [Float] {
        var rng = TestRNG(seed: seed)
        return rng.floats(count).map { round ? Float(TF32GemmTests.tf32($0)) : $0 }
    }

    /// The three directions of `s` on the emulated backend with `choice` and on the CPU, outputs poisoned first, with
    /// inputs rounded to TF32 for both, or (`kernelRounds`) only for the CPU: the kernel must then round them itself.
    func compare(_ s: Conv2dShape, choice: KernelChoice?, scales: Bool = false, kernelRounds: Bool = false,
                 file: StaticString = #filePath, line: UInt = #line) throws {
        let (cl, cpu) = try requireEmulated()
        // Powers of two: x·inScale stays a TF32 value, so the kernel's rounding after the scale changes nothing.
        let inScale = (0..<(s.batch * s.inChannels)).map { Float([0.5, 2, 0.25, 1][$0 % 4]) }
        let outScale = (0..<(s.batch * s.outChannels)).map { Float([2, 0.5, 1][$0 % 3]) }
        var results: [[[Float]]] = []
        for backend in [cl as any Backend, cpu] {
            let round = !(kernelRounds && backend === cl)
            let x = Self.values(s.inputCount, seed: 1, round: round), w = Self.values(s.weightCount, seed: 2, round: round)
            let dy = Self.values(s.outputCount, seed: 3, round: round)
            let xb = try backend.buffer(x), wb = try backend.buffer(w), dyb = try backend.buffer(dy)
            let si = scales ? try backend.buffer(inScale) : nil, so = scales ? try backend.buffer(outScale) : nil
            let y = try backend.poisoned(s.outputCount), dx = try backend.poisoned(s.inputCount), dw = try backend.poisoned(s.weightCount)
            if let cl = backend as? OpenCLBackend {
                try cl.scaledConv2d(s, input: xb, weight: wb, inScale: si, outScale: so, output: y, choice: choice)
                try cl.scaledConv2dGradInput(s, gradOutput: dyb, weight: wb, inScale: si, outScale: so, gradInput: dx, choice: choice)
                try cl.scaledConv2dGradWeight(s, input: xb, gradOutput: dyb, inScale: si, outScale: so, gradWeight: dw, choice: choice)
            } else {
                try backend.scaledConv2d(s, input: xb, weight: wb, inScale: si, outScale: so, output: y)
                try backend.scaledConv2dGradInput(s, gradOutput: dyb, weight: wb, inScale: si, outScale: so, gradInput: dx)
                try backend.scaledConv2dGradWeight(s, input: xb, gradOutput: dyb, inScale: si, outScale: so, gradWeight: dw)
            }
            results.append([try backend.array(y), try backend.array(dx), try backend.array(dw)])
        }
        for (k, name) in ["forward", "grad-input", "grad-weight"].enumerated() {
            let error = relativeL2(results[0][k], results[1][k])
            XCTAssertLessThan(error, 1e-5, "TF32 \(name) vs the CPU: \(choice.map { "\($0)" } ?? "heuristic") \(s)"
                              + (kernelRounds ? ", inputs rounded by the kernel" : ""), file: file, line: line)
        }
    }

    /// Every tile the tuner may choose (each has a TF32 form), with ragged rows, columns and K; the large tile also
    /// split over K in 3 (forward and grad-weight partial sums).
    func testEveryTileMatchesTheCPU() throws {
        let s = Conv2dShape(batch: 2, inChannels: 12, outChannels: 20, height: 9, width: 7, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        for tile in ConvTile.candidates {
            XCTAssertTrue(tile.hasTF32Form, "\(tile)")
            try compare(s, choice: KernelChoice(conv: tile))
        }
        try compare(s, choice: KernelChoice(conv: .large, splits: 3))
    }

    /// Stride 2, two groups, odd sizes, both scales and a weight gain (the split modconv's and the discriminator's down
    /// convs' form), on the heuristic tiles, with the inputs rounded by the kernel (every operand of every direction
    /// goes through its local stores); and a 1x1 conv the same way.
    func testStridedGroupedScaledKernelRounded() throws {
        let s = Conv2dShape(batch: 2, inChannels: 8, outChannels: 12, height: 9, width: 11, kernelH: 3, kernelW: 3,
                            stride: 2, padH: 1, padW: 1, groups: 2, weightGain: 0.5)
        try compare(s, choice: nil, scales: true, kernelRounds: true)
        try compare(Conv2dShape(batch: 2, inChannels: 16, outChannels: 24, height: 6, width: 5, kernelH: 1, kernelW: 1),
                    choice: KernelChoice(conv: .medium), kernelRounds: true)
    }
}
