import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// What the histogram branch needs in order to learn: an encoder input at a usable scale, targets that
/// interpolate two different images, the EMA ramp-up, the per-sample loss, and a resumed log without repeats.
final class ColorControlTrainingTests: XCTestCase {
    /// Mean |Δw| of `histenc.fc0.weight` over `steps` training steps of a tiny network whose encoder reads `input`.
    func firstEncoderLayerChange(input: HistogramInput, steps: Int) throws -> Double {
        // The paper's 64 bins: 12,288 inputs of ~1/12,288 each, where the raw input's gradients sink below Adam's ε.
        var options = TrainingTests.options()
        options.network.histogramBins = 64
        options.histogram.bins = 64
        options.network.histogramInput = input
        let trainer = try Trainer(options: options, backend: TestBackends.cpu)
        let before = try XCTUnwrap(trainer.generator.parameters["histenc.fc0.weight"]).value.array()
        for s in 0..<steps { try TrainingTests.step(trainer, TrainingTests.realBatch([2 * s, 2 * s + 1], on: TestBackends.cpu)) }
        let after = try XCTUnwrap(trainer.generator.parameters["histenc.fc0.weight"]).value.array()
        return zip(before, after).reduce(0.0) { $0 + Double(abs($1.1 - $1.0)) } / Double(before.count)
    }

    /// A few steps move the encoder's first layer by a clear fraction of lr a step (Adam moves a weight whose
    /// gradient is well above its ε by about lr; weights of near-empty bins move less).
    func testFirstEncoderLayerMovesInAFewSteps() throws {
        let steps = 3, lr = Double(TrainingTests.options().learningRate)
        let moved = try firstEncoderLayerChange(input: .sqrtNormalized, steps: steps)
        print("mean |Δ histenc.fc0.weight| over \(steps) steps: \(moved) (lr \(lr))")
        XCTAssertGreaterThan(moved, 0.2 * lr * Double(steps), "the encoder's first layer barely moves")
    }

    /// The bug this input scaling fixes: the encoder is positively homogeneous (zero biases, leaky ReLU), so a raw
    /// histogram (~1/(3B²) a bin, scaled again by 1/√(3B²)) gives w_hist ~1e-3 whatever the target, styles stay
    /// at their bias 1 and the target cannot change a pixel. Scaled to unit second moment, two different targets
    /// give w_hist vectors that differ at the scale of w itself (~1).
    func testEncoderOutputDependsOnTheTargetAtUnitScale() throws {
        let backend = TestBackends.cpu
        let images = try TrainingTests.realBatch([0, 1], on: backend)
        func spread(_ input: HistogramInput) throws -> Float {
            var config = TrainingTests.options().network
            config.histogramBins = 64
            config.histogramInput = input
            var rng = ParameterInitializer(backend: backend, seed: 4)
            let encoder = try HistogramEncoder(config: config, init: &rng)
            let h = try Autograd.withoutGrad { try Tensor.rgbuvHistogram((images + 1) * 0.5, options: HistogramOptions(bins: 64, resize: .sampling)) }
            let w = try Autograd.withoutGrad { try encoder(h).array() }
            let d = config.latentDim
            return (0..<d).map { (w[$0] - w[d + $0]) * (w[$0] - w[d + $0]) }.reduce(0, +).squareRoot() / Float(d).squareRoot()
        }
        let scaled = try spread(.sqrtNormalized), raw = try spread(.raw)
        print("rms difference of w_hist between two targets: sqrt-normalized \(scaled), raw \(raw)")
        XCTAssertGreaterThan(scaled, 0.1)
        XCTAssertLessThan(raw, 0.01)
    }

    /// With a micro-batch of one image, the target is still `t·H(a) + (1 − t)·H(b)` of two different images.
    func testTargetsOfAMicroBatchOfOneInterpolateTwoDifferentImages() throws {
        let backend = TestBackends.cpu
        let options = HistogramOptions(bins: 8, resize: .sampling)
        let bank = try TargetHistogramBank(images: TrainingTests.realBatch([0, 1, 2], on: backend), options: options)
        XCTAssertEqual(bank.count, 3)
        var pairs = Set<[Int]>()
        for step in 0..<40 {
            let draws = bank.draws(step: step, k: 0, size: 1, seed: 7)
            XCTAssertEqual(draws.count, 1)
            let d = draws[0]
            XCTAssertNotEqual(d.first, d.second, "step \(step): a target interpolates an image with itself")
            XCTAssertTrue((0..<1).contains(d.t))
            pairs.insert([d.first, d.second])
            // The tensor is exactly t·H(a) + (1 − t)·H(b), checked against the bank's own histograms.
            let target = try bank.targets(draws, on: backend).array()
            let expected = zip(bank.histogram(d.first), bank.histogram(d.second)).map { d.t * $0 + (1 - d.t) * $1 }
            XCTAssertEqual(target, expected)
        }
        XCTAssertEqual(pairs.count, 6, "over 40 steps every ordered pair of 3 images should appear")
        // The same (seed, step, micro-batch) draws the same targets: a resumed run sees what an uninterrupted one did.
        XCTAssertEqual(bank.draws(step: 5, k: 1, size: 4, seed: 7), bank.draws(step: 5, k: 1, size: 4, seed: 7))
        XCTAssertNotEqual(bank.draws(step: 5, k: 1, size: 4, seed: 7), bank.draws(step: 6, k: 1, size: 4, seed: 7))
    }

    /// `--targets file` takes each target's histogram from the full-resolution file (the official loader),
    /// `image` from the R×R training image: checked against the histogram op run on the decoded file.
    func testFileTargetsComeFromTheFullResolutionFile() throws {
        let root = NSTemporaryDirectory() + "histogan-file-targets-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var rng = TestRNG(seed: 5)
        // 200x160 (larger than the 150-pixel reduction limit), fine noise that a 16x16 resize averages away.
        let image = try Image(width: 200, height: 160, pixels: rng.floats(3 * 200 * 160, 0, 1))
        try ImageIO.writePNG(image, to: root + "/a.png")
        try ImageIO.writePNG(try Image(width: 40, height: 40, pixels: rng.floats(3 * 40 * 40, 0.2, 0.6)), to: root + "/b.png")
        let dataset = try ImageDataset(directory: root, resolution: 16)
        let options = HistogramOptions(bins: 8, resize: .sampling)
        let file = try TargetHistogramBank(dataset: dataset, source: .file, options: options, backend: TestBackends.cpu)
        let small = try TargetHistogramBank(dataset: dataset, source: .image, options: options, backend: TestBackends.cpu)
        let decoded = try ImageIO.read(root + "/a.png")
        let expected = try Autograd.withoutGrad {
            try Tensor.rgbuvHistogram(Tensor(decoded.pixels, shape: [1, 3, 160, 200], on: TestBackends.cpu), options: options).array()
        }
        assertClose(Array(file.histogram(0)), expected, tolerance: 1e-6, "file target histogram")
        XCTAssertGreaterThan(relativeL2(Array(small.histogram(0)), expected), 0.05, "the 16x16 image's histogram should differ")
    }

    /// NVlabs: half-life = min(ema_kimg·1000, images seen·ema_rampup); β = 0.5^(batch / half-life).
    func testEMABetaFollowsTheRampUpByHand() {
        var o = TrainingOptions(batch: 4, emaKimg: 10, emaRampup: 0.05)
        XCTAssertEqual(o.emaBeta(step: 0), 0)                              // half-life 0: a copy
        XCTAssertEqual(o.emaBeta(step: 10), 0.25, accuracy: 1e-7)          // 40 images → half-life 2 → 0.5^2
        XCTAssertEqual(o.emaBeta(step: 100_000), Float(pow(0.5, 4.0 / 10_000)), accuracy: 1e-7)   // capped at 10k images
        o.emaRampup = nil
        XCTAssertEqual(o.emaBeta(step: 10), Float(pow(0.5, 4.0 / 10_000)), accuracy: 1e-7)
    }

    /// `.sample` is α·mean Hellinger distance, checked against `HistogramDistance.hellinger` in Double.
    func testSampleReductionIsTheMeanHellingerDistance() throws {
        let backend = TestBackends.cpu
        let per = 3 * 4 * 4
        func normalised(_ seed: Int) -> [Float] {
            let raw = (0..<per).map { Float(1 + (($0 + seed) * 31) % 17) * ($0 % (seed + 2) == 0 ? 3 : 1) }
            let total = raw.reduce(0, +)
            return raw.map { $0 / total }
        }
        let targets = [normalised(1), normalised(2), normalised(3)], generated = [normalised(4), normalised(5), normalised(6)]
        let t = try Tensor(targets.flatMap { $0 }, shape: [3, 3, 4, 4], on: backend)
        let g = try Tensor(generated.flatMap { $0 }, shape: [3, 3, 4, 4], on: backend)
        let loss = try HistogramLoss.loss(g, target: t, alpha: 2, reduction: .sample).item()
        let expected = try 2 * zip(targets, generated).map { try HistogramDistance.hellinger($0, $1) }.reduce(0, +) / 3
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5)
        let official = try HistogramLoss.loss(g, target: t, alpha: 2, reduction: .batch).item()
        let byHand = try HistogramDistance.histogramLoss(target: targets.flatMap { $0 }, generated: generated.flatMap { $0 }, batch: 3)
        XCTAssertEqual(Double(official), byHand, accuracy: 1e-5)
    }

    /// A run killed after logging steps past its last checkpoint logs each step once after `--resume`.
    func testResumeDropsLogRecordsPastTheCheckpoint() throws {
        let root = NSTemporaryDirectory() + "histogan-log-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try DemoDataGenerator(resolution: 32, seed: 3).write(count: 6, to: root + "/data")
        let dataset = try ImageDataset(directory: root + "/data", resolution: 32)
        var options = TrainingTests.options(steps: 2)
        options.logInterval = 1
        options.sampleInterval = 100
        options.checkpointInterval = 2
        try TrainingRun(directory: root + "/run", options: options, dataset: dataset, backend: TestBackends.cpu, resume: false).run { _ in }
        // As if the process had logged step 3 and died before its next checkpoint.
        let log = root + "/run/log.jsonl"
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"step\":3,\"stale\":true}\n".utf8))
        try handle.close()
        options.steps = 4
        try TrainingRun(directory: root + "/run", options: options, dataset: dataset, backend: TestBackends.cpu, resume: true).run { _ in }
        let text = try String(contentsOfFile: log, encoding: .utf8)
        struct Step: Decodable { var step: Int }
        let steps = try text.split(separator: "\n").map { try JSONDecoder().decode(Step.self, from: Data($0.utf8)).step }
        XCTAssertEqual(steps, [1, 2, 3, 4])
        XCTAssertFalse(text.contains("stale"))
    }
}

/// `profile`'s plain timing covers one period of the lazy regularisers.
final class TrainingProfileTests: XCTestCase {
    func testRegulariserPeriodIsTheLCMOfTheIntervals() {
        XCTAssertEqual(TrainingProfile.regulariserPeriod(TrainingOptions(r1Interval: 16, pathLengthInterval: 4)), 16)
        XCTAssertEqual(TrainingProfile.regulariserPeriod(TrainingOptions(r1Interval: 4, pathLengthInterval: 6)), 12)
        XCTAssertEqual(TrainingProfile.regulariserPeriod(TrainingOptions(r1Interval: 4, pathLengthWeight: 0, pathLengthInterval: 6)), 4)
    }

    /// On the CPU the plain steps report no launches; a tiny network profiles end to end.
    func testProfileOfATinyNetwork() throws {
        let trainer = try Trainer(options: TrainingTests.options(), backend: TestBackends.cpu)
        let profile = try TrainingProfile.measure(trainer: trainer, steps: 1, plainSteps: 2)
        XCTAssertEqual(profile.plainSteps, 2)
        XCTAssertNil(profile.launchesPerStep)
        XCTAssertNil(profile.hostMillisecondsPerStep, "the CPU backend's driving thread also runs the kernels")
        XCTAssertGreaterThan(profile.unprofiledStepMilliseconds, 0)
        XCTAssertFalse(profile.layers.isEmpty)
        XCTAssertTrue(profile.layers.allSatisfy { $0.launches == nil && $0.kernelLaunches == nil }, "the CPU backend launches no kernels")
    }

    /// On OpenCL every launch of a profiled step lands in exactly one layer row: the layers' launches add up to the
    /// kernels table's (which sums the same records by kernel name instead of by layer).
    func testLayerLaunchesAddUpToTheKernelTable() throws {
        let device = try XCTUnwrap(TestBackends.requireOpenCL() as? OpenCLBackend).device
        // Launches are attributed through profiling events, as `profile` does.
        let trainer = try Trainer(options: TrainingTests.options(), backend: OpenCLBackend(device: device, profiling: true))
        let profile = try TrainingProfile.measure(trainer: trainer, steps: 1, plainSteps: 1)
        // The host time is one thread's CPU time: more than nothing, and no more than the wall time of the same steps
        // (the whole process's CPU time, with PoCL's worker threads, would be up to twice that on 2 cores).
        let host = try XCTUnwrap(profile.hostMillisecondsPerStep)
        XCTAssertGreaterThan(host, 0)
        XCTAssertLessThanOrEqual(host, profile.unprofiledStepMilliseconds * 1.01 + 1)
        let byLayer = profile.layers.compactMap(\.launches).reduce(0, +)
        XCTAssertGreaterThan(byLayer, 0)
        XCTAssertEqual(byLayer, profile.kernels.map(\.launches).reduce(0, +))
        XCTAssertEqual(profile.layers.filter { $0.launches == nil }.count, 0)
        // Each layer's launches by kernel add up to its launches, and per kernel over the layers to the kernel table.
        var perKernel: [String: Double] = [:]
        for layer in profile.layers {
            let kernels = try XCTUnwrap(layer.kernelLaunches, layer.layer)
            XCTAssertEqual(kernels.values.reduce(0, +), layer.launches ?? -1, layer.layer)
            perKernel.merge(kernels, uniquingKeysWith: +)
        }
        XCTAssertEqual(perKernel, Dictionary(uniqueKeysWithValues: profile.kernels.map { ($0.kernel, $0.launches) }))
    }
}
