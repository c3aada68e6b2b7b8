import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// ReHistoGAN: its loss terms against float64 loops, the network on both backends, the HistoGAN head it can
/// start from, and exact resume of its training.
final class ReHistoGANTests: XCTestCase {
    static let network = NetworkConfig(resolution: 16, capacity: 1.0 / 64, latentDim: 16, mappingLayers: 2, histogramBins: 8)

    static func options(steps: Int = 3) -> ReHistoGANOptions {
        ReHistoGANOptions(network: network, batch: 2, steps: steps, gradientPenaltyInterval: 2, seed: 3)
    }

    /// Demo images `[n, 3, 16, 16]` in [-1, 1].
    static func images(_ indices: [Int], on backend: any Backend) throws -> Tensor {
        let generator = DemoDataGenerator(resolution: 16, seed: 9)
        return try Tensor(indices.flatMap { generator.image($0).map { $0 * 2 - 1 } }, shape: [indices.count, 3, 16, 16], on: backend)
    }

    static func targets(_ n: Int, bins: Int = 8, seed: UInt64, on backend: any Backend) throws -> Tensor {
        var rng = TestRNG(seed: seed)
        var values: [Float] = []
        for _ in 0..<n {
            let raw = rng.floats(3 * bins * bins, 0, 1)
            let total = raw.reduce(0, +)
            values += raw.map { $0 / total }
        }
        return try Tensor(values, shape: [n, 3, bins, bins], on: backend)
    }

    func testInstanceNormMatchesAFloat64Loop() throws {
        var rng = TestRNG(seed: 1)
        let (n, c, h, w) = (2, 3, 5, 7)
        let x = rng.floats(n * c * h * w, -2, 3)
        for backend in TestBackends.all {
            let y = try Tensor(x, shape: [n, c, h, w], on: backend).instanceNormalized().array()
            for plane in 0..<(n * c) {
                let values = x[(plane * h * w)..<((plane + 1) * h * w)].map(Double.init)
                let mean = values.reduce(0, +) / Double(h * w)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(h * w)
                for (i, v) in values.enumerated() {
                    XCTAssertEqual(Double(y[plane * h * w + i]), (v - mean) / (variance + 1e-5).squareRoot(), accuracy: 1e-4, "\(backend.info.selector)")
                }
            }
        }
    }

    func testLaplacianLossOfOneBrightPixelIsHandWorked() throws {
        // a: zeros; b: one pixel of value 1 in channel 1 at (2, 2) of a 5x5 image. The Laplacian of R+G+B of b is
        // −4 at the pixel and 1 at its four neighbours: Σ|·| = 8 over 25 pixels.
        let backend = TestBackends.cpu
        var pixels = [Float](repeating: 0, count: 3 * 25)
        pixels[25 + 2 * 5 + 2] = 1
        let a = try Tensor.zeros([1, 3, 5, 5], on: backend), b = try Tensor(pixels, shape: [1, 3, 5, 5], on: backend)
        let loss = try ReHistoGANLosses.laplacianL1(a, b, kernel: ReHistoGANLosses.laplacianKernel(on: backend)).item()
        XCTAssertEqual(loss, 8.0 / 25, accuracy: 1e-6)
    }

    func testVarianceTermMatchesAFloat64Loop() throws {
        let backend = TestBackends.cpu
        var rng = TestRNG(seed: 4)
        let (n, size) = (2, 20)
        let input = rng.floats(n * 3 * size * size), output = rng.floats(n * 3 * size * size)
        let hin = rng.floats(n * 3 * 4 * 4, 0, 1), target = rng.floats(n * 3 * 4 * 4, 0, 1)
        let kernel = try ReHistoGANLosses.gaussianKernel(size: 15, sigma: 5, on: backend)
        let value = try ReHistoGANLosses.varianceTerm(
            input: Tensor(input, shape: [n, 3, size, size], on: backend), output: Tensor(output, shape: [n, 3, size, size], on: backend),
            inputHistograms: Tensor(hin, shape: [n, 3, 4, 4], on: backend), targets: Tensor(target, shape: [n, 3, 4, 4], on: backend),
            kernel: kernel).item()
        // Reference: Gaussian weights, valid depthwise conv, unbiased std over rows then columns, all in Double.
        var g = [Double](repeating: 0, count: 225)
        for y in 0..<15 { for x in 0..<15 { g[y * 15 + x] = exp(-(Double((x - 7) * (x - 7) + (y - 7) * (y - 7))) / 50) } }
        let gs = g.reduce(0, +)
        func spread(_ img: [Float], _ s: Int, _ c: Int) -> Double {
            let o = size - 14
            var blurred = [[Double]](repeating: [Double](repeating: 0, count: o), count: o)
            for y in 0..<o { for x in 0..<o {
                var acc = 0.0
                for ky in 0..<15 { for kx in 0..<15 { acc += g[ky * 15 + kx] / gs * Double(img[((s * 3 + c) * size + y + ky) * size + x + kx]) } }
                blurred[y][x] = acc
            } }
            func std(_ v: [Double]) -> Double {
                let m = v.reduce(0, +) / Double(v.count)
                return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
            }
            let columnStds = (0..<o).map { x in std((0..<o).map { blurred[$0][x] }) }
            return std(columnStds)
        }
        var meanAbs = 0.0
        for s in 0..<n { for c in 0..<3 { meanAbs += abs(spread(input, s, c) - spread(output, s, c)) } }
        meanAbs /= Double(n * 3)
        let distance = zip(target, hin).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(n)
        XCTAssertEqual(Double(value), -distance * meanAbs, accuracy: 1e-4 * max(1, abs(distance * meanAbs)))
    }

    func testGeneratorGivesTheSameImagesOnEveryBackend() throws {
        let cl = try TestBackends.requireOpenCL()
        var outputs: [[Float]] = []
        for backend in [TestBackends.cpu, cl] {
            let g = try ReHistoGANGenerator(config: Self.network, backend: backend, seed: 5)
            let y = try g(Self.images([0, 1], on: backend), histograms: Self.targets(2, seed: 6, on: backend),
                          noise: NoiseSource(seed: 2))
            XCTAssertEqual(y.shape, [2, 3, 16, 16])
            outputs.append(try y.array())
        }
        XCTAssertTrue(outputs[0].allSatisfy(\.isFinite))
        let scale = outputs[0].map(abs).max()!
        for (a, b) in zip(outputs[0], outputs[1]) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, scale)) }
    }

    func testTheHeadStartsFromAHistoGANCheckpoint() throws {
        let backend = TestBackends.cpu
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rehisto-head-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let histogan = try Trainer(options: TrainingOptions(network: Self.network, batch: 2, seed: 8), backend: backend)
        try Checkpoint.save(histogan, to: directory)
        let trainer = try ReHistoGANTrainer(options: Self.options(), backend: backend)
        let head = trainer.generator.headParameters
        XCTAssertEqual(head.parameters.count, 2 * (5 + 5 + 4))   // per block: conv0, conv1 (affine w+b, weight, bias, noise strength), toRGB (affine w+b, weight, bias)
        let before = try head.parameters[0].value.array()
        try trainer.loadHead(fromHistoGAN: directory + "/" + Checkpoint.fileName)
        let source = histogan.generatorEMA.parameters
        for p in head.parameters + trainer.generator.histogramEncoder.parameters.parameters {
            XCTAssertEqual(try p.value.array(), try source[p.name]!.value.array(), p.name)
        }
        XCTAssertNotEqual(before, try head.parameters[0].value.array(), "the head did not change: the test would pass vacuously")
        // A HistoGAN of another size is refused with both sizes named.
        var other = Self.network
        other.latentDim = 8
        let small = try Trainer(options: TrainingOptions(network: other, batch: 2), backend: backend)
        try Checkpoint.save(small, to: directory)
        XCTAssertThrowsError(try trainer.loadHead(fromHistoGAN: directory + "/" + Checkpoint.fileName)) {
            XCTAssertTrue("\($0)".contains("latent 8"), "\($0)")
        }
    }

    func testAResumedRunRepeatsAnUninterruptedOne() throws {
        let backend = TestBackends.cpu
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rehisto-resume-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func step(_ t: ReHistoGANTrainer) throws -> ReHistoGANStepStats {
            let k = t.step
            return try t.trainStep(real: Self.images([k, k + 3], on: backend), targets: Self.targets(2, seed: UInt64(k), on: backend))
        }
        let straight = try ReHistoGANTrainer(options: Self.options(), backend: backend)
        var last: ReHistoGANStepStats?
        for _ in 0..<3 { last = try step(straight) }
        XCTAssertNotNil(last?.gradientPenalty)     // step 3 (index 2) takes the penalty at interval 2
        XCTAssertTrue([last!.adversarialLoss, last!.histogramLoss, last!.reconstructionLoss, last!.discriminatorLoss].allSatisfy(\.isFinite))

        let first = try ReHistoGANTrainer(options: Self.options(), backend: backend)
        for _ in 0..<2 { _ = try step(first) }
        try ReHistoGANCheckpoint.save(first, to: directory)
        let resumed = try ReHistoGANTrainer(options: Self.options(), backend: backend)
        try ReHistoGANCheckpoint.restore(resumed, from: directory + "/" + Checkpoint.fileName)
        XCTAssertEqual(resumed.step, 2)
        _ = try step(resumed)
        let all = { (t: ReHistoGANTrainer) in
            t.generator.parameters.parameters + t.generatorEMA!.parameters.parameters + t.discriminator.parameters.parameters
        }
        for (a, b) in zip(all(straight), all(resumed)) {
            XCTAssertEqual(try a.value.array(), try b.value.array(), a.name)
        }
    }

    func testCheckpointKindsAreToldApart() throws {
        let backend = TestBackends.cpu
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rehisto-kind-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Checkpoint.save(try Trainer(options: TrainingOptions(network: Self.network, batch: 2), backend: backend), to: directory)
        let histoganPath = directory + "/" + Checkpoint.fileName
        XCTAssertThrowsError(try ReHistoGANRecolorer(checkpoint: histoganPath, backend: backend)) {
            XCTAssertTrue("\($0)".contains("--method projection"), "\($0)")
        }
        try ReHistoGANCheckpoint.save(try ReHistoGANTrainer(options: Self.options(), backend: backend), to: directory)
        XCTAssertThrowsError(try ProjectionRecolorer(checkpoint: histoganPath, backend: backend)) {
            XCTAssertTrue("\($0)".contains("HistoGAN"), "\($0)")
        }
    }
}
