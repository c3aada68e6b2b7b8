import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// `NetworkConfig.modconv`: the split modulated convolution against the fused one through whole synthesis layers
/// (the R = 32 generator, its up-sampling convs, 3x3 convs and toRGB), and config decoding.
final class ModconvModeTests: XCTestCase {
    /// Same parameters, same inputs: images, ∂(Σ image·r)/∂ws (taken with createGraph, as the path-length
    /// regulariser does) and the gradient of |∂/∂ws|² w.r.t. every synthesis parameter agree within float tolerance.
    func testSplitAndFusedSynthesisAgreeWithPathLengthGradients() throws {
        for backend in TestBackends.all {
            var results: [[Float]] = []
            for mode in ModconvMode.allCases {
                var config = NetworkTests.small
                config.modconv = mode
                let g = try Generator(config: config, backend: backend, seed: 5)
                let z = try Tensor.random([2, 16], seed: 7, on: backend)
                let h = try Tensor.random([2, 3, 8, 8], .uniform, seed: 8, on: backend)
                let ws = try Autograd.withoutGrad { try g.ws(z: z, histograms: h) }.map { $0.requiringGrad() }
                let images = try g.synthesis(ws, noise: NoiseSource(seed: 9))
                let probe = try Tensor.random(images.shape, seed: 10, on: backend)
                let dws = try Autograd.gradients(of: (images * probe).sum(), wrt: ws, createGraph: true)
                var total: Tensor?
                for d in dws {
                    let sq = try XCTUnwrap(d).sumOfSquares()
                    total = try total.map { try $0 + sq } ?? sq
                }
                let penalty = try XCTUnwrap(total)
                let params = g.synthesis.parameters.parameters.map(\.value)
                let dp = try Autograd.gradients(of: penalty, wrt: params)
                var values = try images.array()
                for d in dws { values += try XCTUnwrap(d).array() }
                for (p, d) in zip(params, dp) { values += try d?.array() ?? [Float](repeating: 0, count: p.count) }
                results.append(values)
            }
            assertClose(results[1], results[0], tolerance: 1e-4, "\(backend.label) split vs fused synthesis (images, ∂/∂ws, ∂penalty/∂params)")
        }
    }

    func testConfigWithoutModconvDecodesAsFusedAndRoundTrips() throws {
        var config = NetworkTests.small
        config.modconv = .split
        let data = try JSONEncoder().encode(config)
        XCTAssertEqual(try JSONDecoder().decode(NetworkConfig.self, from: data).modconv, .split)
        var dict = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        dict.removeValue(forKey: "modconv")
        let old = try JSONSerialization.data(withJSONObject: dict)
        XCTAssertEqual(try JSONDecoder().decode(NetworkConfig.self, from: old).modconv, .fused)
        XCTAssertEqual(NetworkConfig().modconv, .split)
    }
}
