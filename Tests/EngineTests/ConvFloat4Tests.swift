import Engine
import TestSupport
import XCTest

/// conv2d.cl's float4 A loads (`-D FWD_VEC_A`: the forward's weights; `-D GW_VEC_A`: grad-weight's dy): when the host
/// sets them, and the kernels with them against float64 loops on every tile whose A share allows them, with a K split
/// and with both scales, outputs poisoned first.
final class ConvFloat4Tests: XCTestCase {
    /// K = C·KH·KW = 72 and outH·outW = 20: both flags; 20 rows and 60 columns are ragged on every tile.
    static let shape = Conv2dShape(batch: 3, inChannels: 8, outChannels: 20, height: 5, width: 4, kernelH: 3, kernelW: 3,
                                   padH: 1, padW: 1)

    /// Hand-worked: the thin tile's A share is 16·16/256 = 1 element (no vectors); K = 3·9 = 27 is no multiple of 4;
    /// a stride-2 5×5 output has 25 pixels.
    func testVectorOptionsDecision() {
        XCTAssertEqual(OpenCLBackend.vectorOptions(.medium, Self.shape), " -D FWD_VEC_A -D GW_VEC_A")
        XCTAssertEqual(OpenCLBackend.vectorOptions(.thin, Self.shape), "")
        let rgb = Conv2dShape(batch: 2, inChannels: 3, outChannels: 32, height: 8, width: 8, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        XCTAssertEqual(OpenCLBackend.vectorOptions(.large, rgb), " -D GW_VEC_A")
        let down = Conv2dShape(batch: 2, inChannels: 16, outChannels: 32, height: 10, width: 10, kernelH: 3, kernelW: 3,
                               stride: 2, padH: 1, padW: 1)
        XCTAssertEqual(OpenCLBackend.vectorOptions(.tall, down), " -D FWD_VEC_A")
    }

    func testFloat4LoadsMatchFloat64OnEveryVectorTile() throws {
        guard let cl = try TestBackends.requireOpenCL() as? OpenCLBackend else { return XCTFail("not an OpenCL backend") }
        let s = Self.shape
        let d = Conv2dTests.Data(s, seed: 700)
        let y = ConvReference.forward(s, x: d.x, w: d.w), dw = ConvReference.gradWeight(s, x: d.x, dy: d.dy)
        for choice in [KernelChoice(conv: .large), KernelChoice(conv: .small), KernelChoice(conv: .tall, splits: 3)] {
            let x = try cl.buffer(d.x), w = try cl.buffer(d.w), dy = try cl.buffer(d.dy)
            let out = try cl.poisoned(s.outputCount), gw = try cl.poisoned(s.weightCount)
            try cl.conv2d(s, input: x, weight: w, output: out, choice: choice)
            try cl.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: gw, choice: choice)
            assertClose(try cl.array(out), y, tolerance: 1e-5, "float4 conv2d forward, \(choice)")
            assertClose(try cl.array(gw), dw, tolerance: 1e-5, "float4 conv2d grad-weight, \(choice)")
        }
    }

    /// With both scales grad-weight multiplies each dy vector by outScale[n, o] (one scale per vector: four pixels of
    /// one sample and channel).
    func testFloat4LoadsWithScalesMatchFloat64() throws {
        let cl = try TestBackends.requireOpenCL()
        let s = Self.shape
        let d = ScaledConv2dTests.Data(s, inScale: true, outScale: true, seed: 701)
        let want = ScaledConvReference.all(s, d)
        let got = try ScaledConv2dTests.run(cl, s, d)
        assertClose(got.y, want.y, tolerance: 1e-5, "float4 scaledConv2d")
        assertClose(got.dx, want.dx, tolerance: 1e-5, "scaledConv2dGradInput (scalar A) in the same program")
        assertClose(got.dw, want.dw, tolerance: 1e-5, "float4 scaledConv2dGradWeight")
    }
}
