import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// The training step: backend parity, learning the histogram, checkpoints and exact resume.
final class TrainingTests: XCTestCase {
    static func options(steps: Int = 10, seed: UInt64 = 1) -> TrainingOptions {
        TrainingOptions(network: NetworkConfig(resolution: 32, capacity: 1.0 / 64, latentDim: 16, mappingLayers: 2, histogramBins: 8),
                        batch: 2, steps: steps, r1Interval: 2, pathLengthInterval: 2, seed: seed)
    }

    /// Demo images `[n, 3, 32, 32]` in [-1, 1].
    static func realBatch(_ indices: [Int], on backend: any Backend) throws -> Tensor {
        let generator = DemoDataGenerator(resolution: 32, seed: 5)
        let values = indices.flatMap { generator.image($0).map { $0 * 2 - 1 } }
        return try Tensor(values, shape: [indices.count, 3, 32, 32], on: backend)
    }

    /// One training step on `batch`, with targets interpolated between the batch's own images (a bank over them).
    @discardableResult
    static func step(_ trainer: Trainer, _ batch: Tensor) throws -> StepStats {
        let bank = try TargetHistogramBank(images: batch, options: trainer.options.histogram)
        let targets = try bank.targets(bank.draws(step: trainer.step, k: 0, size: batch.shape[0], seed: trainer.options.seed),
                                       on: trainer.backend)
        return try trainer.trainStep(realBatches: [batch], targets: [targets])
    }

    /// G, histogram, D, R1 and path-length losses (-1: not on this step) of two training steps of a fresh trainer.
    static func twoStepLosses(on backend: any Backend) throws -> [Double] {
        let trainer = try Trainer(options: options(), backend: backend)
        var row: [Double] = []
        for step in 0..<2 {
            let s = try Self.step(trainer, realBatch([step, step + 1], on: backend))
            row += [s.generatorLoss, s.histogramLoss, s.discriminatorLoss, s.r1Penalty ?? -1, s.pathLengthPenalty ?? -1]
        }
        return row
    }

    /// Asserts that `b` matches `a` to 1e-4 relative, element by element.
    static func assertLossesMatch(_ a: [Double], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x, y, accuracy: 1e-4 * max(abs(x), 1e-3), "\(what): \(a) vs \(b)", file: file, line: line)
        }
    }

    func testOneStepGivesTheSameLossesOnEveryBackend() throws {
        let (cpu, cl) = (try Self.twoStepLosses(on: TestBackends.cpu), try Self.twoStepLosses(on: TestBackends.requireOpenCL()))
        print("losses cpu \(cpu)\nlosses cl  \(cl)")
        Self.assertLossesMatch(cpu, cl, "CPU vs OpenCL")
    }

    /// Two training steps (R1 on the first, so gradients of gradients pass through the convolutions) with every 3x3
    /// stride-1 conv by Winograd F(2x2, 3x3) or F(4x4, 3x3), on the CPU and on OpenCL, give the direct CPU run's losses.
    func testWinogradStepsGiveTheDirectLosses() throws {
        var backends: [any Backend] = [CPUBackend(convAlgorithm: .winograd), CPUBackend(convAlgorithm: .winograd4x4)]
        if let cl = try TestBackends.requireOpenCL() as? OpenCLBackend {
            backends.append(try OpenCLBackend(device: cl.device, tuning: .off, convAlgorithm: .winograd))
            backends.append(try OpenCLBackend(device: cl.device, tuning: .off, convAlgorithm: .winograd4x4))
        }
        let direct = try Self.twoStepLosses(on: CPUBackend(convAlgorithm: .direct))
        for backend in backends {
            let winograd = try Self.twoStepLosses(on: backend)
            print("losses direct cpu \(direct)\nlosses winograd \(backend.info.selector) \(winograd)")
            XCTAssertNotEqual(winograd, direct, "Winograd changes the rounding: identical losses mean it did not run")
            Self.assertLossesMatch(direct, winograd, "direct vs Winograd on \(backend.info.selector)")
        }
    }

    func testCheckpointRoundTripGivesIdenticalOutputs() throws {
        let backend = TestBackends.cpu
        let trainer = try Trainer(options: Self.options(), backend: backend)
        _ = try Self.step(trainer, Self.realBatch([0, 1], on: backend))
        let dir = NSTemporaryDirectory() + "histogan-ckpt-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Checkpoint.save(trainer, to: dir)
        let restored = try Trainer(options: Self.options(seed: 99), backend: backend)
        try Checkpoint.restore(restored, from: dir + "/" + Checkpoint.fileName)
        XCTAssertEqual(restored.step, 1)
        let z = try Tensor.random([2, 16], seed: 3, on: backend)
        let h = try Tensor.full([2, 3, 8, 8], value: 1.0 / 192, on: backend)
        for (a, b) in [(trainer.generator, restored.generator), (trainer.generatorEMA, restored.generatorEMA)] {
            XCTAssertEqual(try a(z: z, histograms: h).array(), try b(z: z, histograms: h).array())
        }
        let x = try Self.realBatch([3, 4], on: backend)
        XCTAssertEqual(try trainer.discriminator(x).array(), try restored.discriminator(x).array())
        XCTAssertEqual(try Checkpoint.options(at: dir + "/" + Checkpoint.fileName), Self.options())
    }

    func testResumeEqualsUninterruptedRun() throws {
        let backend = TestBackends.cpu
        let batches = try (0..<3).map { try Self.realBatch([$0, $0 + 2], on: backend) }
        let straight = try Trainer(options: Self.options(), backend: backend)
        for b in batches { try Self.step(straight, b) }

        let first = try Trainer(options: Self.options(), backend: backend)
        for b in batches.prefix(2) { try Self.step(first, b) }
        let dir = NSTemporaryDirectory() + "histogan-resume-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Checkpoint.save(first, to: dir)
        let resumed = try Trainer(options: Self.options(), backend: backend)
        try Checkpoint.restore(resumed, from: dir + "/" + Checkpoint.fileName)
        _ = try Self.step(resumed, batches[2])

        for (a, b) in [(straight.generator.parameters, resumed.generator.parameters),
                       (straight.discriminator.parameters, resumed.discriminator.parameters),
                       (straight.generatorEMA.parameters, resumed.generatorEMA.parameters)] {
            for (p, q) in zip(a.parameters, b.parameters) {
                XCTAssertEqual(try p.value.array(), try q.value.array(), "\(p.name) differs after resume")
            }
        }
        XCTAssertEqual(straight.pathLengthMean, resumed.pathLengthMean)
    }

    /// Two colour targets: reds and blues. Over 200 steps the generator's colours move toward the target
    /// histograms, so the histogram loss falls clearly.
    func testHistogramLossFallsOnTwoColourTargets() throws {
        let backend = TestBackends.cpu
        // 16 bins, the default training kernel (σ = one bin spacing, 0.4).
        var options = Self.options(steps: 200)
        options.network.histogramBins = 16
        options.histogram = HistogramOptions(bins: 16, sigma: TrainingOptions.trainingSigma(bins: 16), resize: .sampling)
        let trainer = try Trainer(options: options, backend: backend)
        func solid(_ rgb: (Float, Float, Float), _ jitter: Float) -> [Float] {
            [rgb.0, rgb.1, rgb.2].flatMap { c in (0..<(32 * 32)).map { i in min(1, max(-1, c + jitter * Float((i * 7919) % 13) / 13)) } }
        }
        let red = solid((0.8, -0.7, -0.6), 0.2), blue = solid((-0.7, -0.4, 0.8), 0.2)
        let batch = try Tensor(red + blue, shape: [2, 3, 32, 32], on: backend)
        var losses: [Double] = []
        for _ in 0..<options.steps { losses.append(try Self.step(trainer, batch).histogramLoss) }
        let early = losses.prefix(10).reduce(0, +) / 10, late = losses.suffix(20).reduce(0, +) / 20
        print("histogram loss: mean of the first 10 steps \(early), of the last 20 \(late)")
        // Measured: 0.99 → 0.85 (−14%) with the default lr, α and per-sample loss; require at least −10%.
        XCTAssertLessThan(late, early * 0.9, "histogram loss \(losses)")
    }

    /// A NaN in a loss stops the step with a message naming it, before any parameter changes.
    func testNaNLossStopsBeforeAnyUpdate() throws {
        let backend = TestBackends.cpu
        let trainer = try Trainer(options: Self.options(), backend: backend)
        _ = try Self.step(trainer, Self.realBatch([0, 1], on: backend))
        let before = try trainer.generator.parameters.parameters.map { try $0.value.array() }
            + trainer.discriminator.parameters.parameters.map { try $0.value.array() }
        var poisoned = try Self.realBatch([2, 3], on: backend).array()
        poisoned[17] = .nan
        XCTAssertThrowsError(try Self.step(trainer, Tensor(poisoned, shape: [2, 3, 32, 32], on: backend))) { error in
            XCTAssertTrue("\(error)".contains("NaN") || "\(error)".contains("nan"), "\(error)")
            XCTAssertTrue("\(error)".contains("step 2"), "\(error)")
        }
        let after = try trainer.generator.parameters.parameters.map { try $0.value.array() }
            + trainer.discriminator.parameters.parameters.map { try $0.value.array() }
        XCTAssertEqual(before, after, "parameters changed by a step that hit NaN")
        XCTAssertEqual(trainer.step, 1)
    }
}
