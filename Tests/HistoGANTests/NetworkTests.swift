import Engine
import HistoGAN
import TestSupport
import XCTest

/// Shapes of every network at R = 32, and generator/discriminator parity across backends.
final class NetworkTests: XCTestCase {
    static let small = NetworkConfig(resolution: 32, capacity: 1.0 / 64, latentDim: 16, mappingLayers: 2, histogramBins: 8)

    func testShapesAtResolution32() throws {
        let backend = TestBackends.cpu
        let config = Self.small
        let g = try Generator(config: config, backend: backend, seed: 1)
        XCTAssertEqual(g.synthesis.numWs, 2 + 3 * 3)       // 4x4: conv, toRGB; 8, 16, 32: conv0, conv1, toRGB
        XCTAssertEqual(g.synthesis.firstHistogramW, 5)       // blocks 16 and 32 take w_hist
        let z = try Tensor.random([3, 16], seed: 2, on: backend)
        let h = try Tensor.full([3, 3, 8, 8], value: 1.0 / 192, on: backend)
        let ws = try g.ws(z: z, histograms: h)
        XCTAssertEqual(ws.count, 11)
        XCTAssertTrue(ws.allSatisfy { $0.shape == [3, 16] })
        let image = try g(z: z, histograms: h, noise: NoiseSource(seed: 3))
        XCTAssertEqual(image.shape, [3, 3, 32, 32])
        XCTAssertTrue(try image.array().allSatisfy(\.isFinite))

        var rng = ParameterInitializer(backend: backend, seed: 4)
        let d = try Discriminator(config: config, init: &rng)
        XCTAssertEqual(d.blocks.map(\.resolution), [32, 16, 8])
        let logits = try d(image)
        XCTAssertEqual(logits.shape, [3, 1])
        XCTAssertEqual(config.channels(at: 4), 8)            // 512 / 64
        XCTAssertGreaterThan(g.parameters.count, 0)
    }

    func testMinibatchStddevMatchesHandComputation() throws {
        let backend = TestBackends.cpu
        // N = 4, group 2: groups are samples {0, 2} and {1, 3}; C = 1, 1x2 pixels.
        let x = try Tensor([1, 2, 5, 5, 3, 6, 5, 9], shape: [4, 1, 1, 2], on: backend)
        let y = try Discriminator.minibatchStddev(x, groupSize: 2).array()
        // group of {0,2}: pixel stds |1-3|/2 = 1, |2-6|/2 = 2 → mean 1.5; group {1,3}: 0, 2 → 1.
        let s0 = (1 + 1e-8).squareRoot() * 0.5 + (4 + 1e-8).squareRoot() * 0.5
        let s1 = (0 + 1e-8).squareRoot() * 0.5 + (4 + 1e-8).squareRoot() * 0.5
        let expected: [Double] = [1, 2, s0, s0, 5, 5, s1, s1, 3, 6, s0, s0, 5, 9, s1, s1]
        assertClose(y, expected, tolerance: 1e-6, "minibatch stddev")
    }

    func testGeneratorAndDiscriminatorAgreeAcrossBackends() throws {
        let cl = try TestBackends.requireOpenCL()
        var outputs: [[Float]] = []
        for backend in [TestBackends.cpu, cl] {
            let g = try Generator(config: Self.small, backend: backend, seed: 5)
            var rng = ParameterInitializer(backend: backend, seed: 6)
            let d = try Discriminator(config: Self.small, init: &rng)
            let z = try Tensor.random([2, 16], seed: 7, on: backend)
            let h = try Tensor.random([2, 3, 8, 8], .uniform, seed: 8, on: backend)
            let image = try g(z: z, histograms: h, noise: NoiseSource(seed: 9))
            outputs.append(try image.array() + d(image).array())
        }
        assertClose(outputs[1], outputs[0], tolerance: 1e-4, "generator + discriminator OpenCL vs CPU")
    }
}
