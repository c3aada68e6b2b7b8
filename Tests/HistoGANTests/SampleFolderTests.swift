import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// `generate --outdir` and `--noise` through the library: one PNG per (target, seed) with `index.csv`, and
/// NVlabs' noise modes.
final class SampleFolderTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("samples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A sampler over SamplingTests' tiny generator; with `noise`, every synthesis layer's noise strength is set
    /// to 0.5 (it starts at 0, which would hide the noise).
    func sampler(noise: Bool = false) throws -> Sampler {
        let backend = TestBackends.cpu
        let generator = try Generator(config: SamplingTests.config, backend: backend, seed: 11)
        if noise {
            for block in generator.synthesis.blocks {
                for layer in [block.conv0, block.conv1].compactMap({ $0 }) {
                    try layer.noiseStrength.assign(Tensor.full([1], value: 0.5, on: backend))
                }
            }
        }
        return Sampler(generator: generator, backend: backend)
    }

    func difference(_ a: Image, _ b: Image) -> Float {
        zip(a.pixels, b.pixels).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testOutdirWritesOnePNGPerTargetAndSeedAndAnIndex() throws {
        let sampler = try sampler()
        let image = try Image(width: 8, height: 8, fill: (0.8, 0.3, 0.1))
        let targets = [ColorTarget(histogram: SamplingTests.histogram, image: image, name: "photos/sunset.jpg"),
                       ColorTarget(histogram: Array(SamplingTests.histogram.reversed()), image: nil, name: "h, 2.npy[1]")]
        let out = directory.appendingPathComponent("out").path, grid = directory.appendingPathComponent("grid.png").path
        let files = try sampler.writeSamples(targets: targets, seeds: [7, 12], truncation: 0.7, grid: grid, directory: out)
        let names = ["t00-sunset-s0007.png", "t00-sunset-s0012.png", "t01-h__2-1-s0007.png", "t01-h__2-1-s0012.png"]
        XCTAssertEqual(files.map(\.file), names)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["index.csv"] + names)
        XCTAssertEqual(try String(contentsOfFile: out + "/index.csv", encoding: .utf8), """
            file,target,seed
            t00-sunset-s0007.png,photos/sunset.jpg,7
            t00-sunset-s0012.png,photos/sunset.jpg,12
            t01-h__2-1-s0007.png,"h, 2.npy[1]",7
            t01-h__2-1-s0012.png,"h, 2.npy[1]",12

            """)
        // Each file holds its image (8-bit rounded); the grid is 2 rows of thumbnail + 2 seeds.
        let expected = try sampler.generate(seeds: [12], histograms: [targets[1].histogram], truncation: 0.7)[0]
        XCTAssertLessThanOrEqual(difference(try ImageIO.read(out + "/" + names[3]), expected), 0.5 / 255 + 1e-5)
        let gridImage = try ImageIO.read(grid)
        XCTAssertEqual([gridImage.width, gridImage.height], [3 * 32 + 4 * 2, 2 * 32 + 3 * 2])

        // Without a grid only the folder; without either an error naming both flags.
        let only = directory.appendingPathComponent("only").path
        XCTAssertEqual(try sampler.writeSamples(targets: targets, seeds: [3], truncation: 1, grid: nil, directory: only).count, 2)
        XCTAssertThrowsError(try sampler.writeSamples(targets: targets, seeds: [3], truncation: 1, grid: nil, directory: nil)) {
            XCTAssertTrue("\($0)".contains("--output") && "\($0)".contains("--outdir"))
        }
    }

    func testFileNamesPadAndStemsAreSafe() {
        XCTAssertEqual(Sampler.sampleFileName(target: 0, stem: "sunset", seed: 7), "t00-sunset-s0007.png")
        XCTAssertEqual(Sampler.sampleFileName(target: 3, stem: "a", seed: 12345, targetDigits: 3, seedDigits: 5), "t003-a-s12345.png")
        func stem(_ name: String) -> String { ColorTarget(histogram: [], image: nil, name: name).stem }
        XCTAssertEqual(stem("photos/sunset.jpg"), "sunset")
        XCTAssertEqual(stem("dir/h.npy[2]"), "h-2")
        XCTAssertEqual(stem("my photo (1).PNG"), "my_photo__1_")
        XCTAssertEqual(stem(""), "target")
    }

    func testNoNoiseIsDeterministicAndTodaysOutput() throws {
        let sampler = try sampler(noise: true), seeds = [0, 1]
        let histograms = [SamplingTests.histogram, SamplingTests.histogram]
        let plain = try sampler.generate(seeds: seeds, histograms: histograms, truncation: 0.7)
        XCTAssertEqual(try sampler.generate(seeds: seeds, histograms: histograms, truncation: 0.7, noise: .none), plain)
        // What the generator gives without noise, mapped to [0, 1] as `generate` does.
        let raw = try Autograd.withoutGrad {
            try sampler.generator(z: SampleGrid.latents(seeds: seeds, dim: 16, on: sampler.backend),
                                  histograms: Tensor(histograms.flatMap { $0 }, shape: [2, 3, 8, 8], on: sampler.backend), truncation: 0.7).array()
        }
        XCTAssertEqual(plain.flatMap(\.pixels), raw.map { min(1, max(0, ($0 + 1) / 2)) })
    }

    func testConstNoiseIsOneFixedMapForEveryImage() throws {
        let sampler = try sampler(noise: true)
        let histograms = [SamplingTests.histogram, SamplingTests.histogram]
        let none = try sampler.generate(seeds: [0, 1], histograms: histograms, truncation: 1)
        let const = try sampler.generate(seeds: [0, 1], histograms: histograms, truncation: 1, noise: .const)
        XCTAssertGreaterThan(difference(const[0], none[0]), 1e-3, "const noise changes the image")
        XCTAssertEqual(try sampler.generate(seeds: [0, 1], histograms: histograms, truncation: 1, noise: .const), const, "and is the same every call")
        // The same map for every image: seed 1 alone equals seed 1 in the batch.
        let alone = try sampler.generate(seeds: [1], histograms: [SamplingTests.histogram], truncation: 1, noise: .const)
        XCTAssertLessThan(difference(alone[0], const[1]), 1e-5)
    }

    func testRandomNoiseIsKeyedByEachImagesSeed() throws {
        let sampler = try sampler(noise: true), backend = sampler.backend
        let generator = sampler.generator
        // The same z with the noise of seed 1 and of seed 2: different images; seed 1 twice: the same.
        let z = try SampleGrid.latents(seeds: [3], dim: 16, on: backend)
        let h = try Tensor(SamplingTests.histogram, shape: [1, 3, 8, 8], on: backend)
        func image(_ noiseSeed: UInt64) throws -> [Float] {
            try Autograd.withoutGrad { try generator(z: z, histograms: h, noise: NoiseSource(seed: 0, layout: .perSample([noiseSeed]))).array() }
        }
        let one = try image(1), two = try image(2)
        XCTAssertGreaterThan(zip(one, two).map { abs($0 - $1) }.max() ?? 0, 1e-3)
        XCTAssertEqual(try image(1), one)
        // Through the sampler: seed 5's image does not depend on its batch, and differs from the const one.
        let histograms = [SamplingTests.histogram, SamplingTests.histogram]
        let batch = try sampler.generate(seeds: [3, 5], histograms: histograms, truncation: 1, noise: .random)
        let alone = try sampler.generate(seeds: [5], histograms: [SamplingTests.histogram], truncation: 1, noise: .random)
        XCTAssertLessThan(difference(alone[0], batch[1]), 1e-5)
        let const = try sampler.generate(seeds: [3, 5], histograms: histograms, truncation: 1, noise: .const)
        XCTAssertGreaterThan(difference(const[1], batch[1]), 1e-3)
        XCTAssertThrowsError(try generator(z: z, histograms: h, noise: NoiseSource(seed: 0, layout: .perSample([1, 2]))))
    }
}
