import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// `mpirun -np 2 histogan-gpu train` against one process with `--accumulate 2` (the same computation by design),
/// a resume on a different number of ranks, and a failing rank that must end the job instead of hanging.
/// Skipped with a message when `mpirun` is not installed (CI installs openmpi-bin).
final class DataParallelTests: XCTestCase {
    /// Tiny network at 16 px: 3 steps take well under a second per process.
    static let network = ["--resolution", "16", "--capacity", "0.0625", "--latent", "16", "--mapping-layers", "2", "--bins", "8",
                          "--device", "cpu", "--r1-interval", "2", "--pl-interval", "2", "--batch", "4", "--log-every", "1"]

    /// `mpirun` from PATH, or a skip naming what is missing.
    static func mpirun() throws -> URL {
        if let mpirun = executableOnPath("mpirun") { return mpirun }
        throw XCTSkip("mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev): data-parallel tests skipped")
    }

    /// Runs `executable` with `arguments`; fails the test (and kills the process) when it runs past `timeout` seconds.
    static func run(_ executable: URL, _ arguments: [String], timeout: TimeInterval = 60,
                    file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, output: String, seconds: Double) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"   // containers: no cross-memory attach
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = LockedData()
        pipe.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        let start = Date()
        try process.run()
        while process.isRunning, Date().timeIntervalSince(start) < timeout { usleep(20_000) }
        let hung = process.isRunning
        if hung {
            process.terminate()
            process.waitUntilExit()
        }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        collected.append(pipe.fileHandleForReading.readDataToEndOfFile())
        let output = String(decoding: collected.data, as: UTF8.self)
        if hung { XCTFail("\(arguments.joined(separator: " ")) still running after \(timeout) s (hang):\n\(output)", file: file, line: line) }
        return (process.terminationStatus, output, Date().timeIntervalSince(start))
    }

    /// `mpirun -np N` arguments: as root Open MPI needs --allow-run-as-root; 2 ranks on fewer cores need --oversubscribe.
    static func mpirunArguments(_ ranks: Int) -> [String] {
        (getuid() == 0 ? ["--allow-run-as-root"] : []) + ["--oversubscribe", "-np", String(ranks)]
    }

    /// A temporary folder with 16 demo images at 16 px.
    static func demoData(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "histogan-mpi-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        let made = try runHistogan(["demo-data", "--output", dir + "/data", "--count", "16", "--resolution", "16"])
        XCTAssertEqual(made.status, 0, made.output)
        return dir
    }

    /// Every tensor of two checkpoints agrees to `tolerance` relative L2 (Adam moments and G_ema included).
    static func assertSameCheckpoint(_ a: String, _ b: String, tolerance: Double = 1e-5, _ what: String,
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try SafeTensors.read(a), y = try SafeTensors.read(b)
        XCTAssertEqual(Set(x.tensors.keys), Set(y.tensors.keys), what, file: file, line: line)
        XCTAssertEqual(x.metadata["step"], y.metadata["step"], what, file: file, line: line)
        XCTAssertEqual(x.metadata["pl_mean"], y.metadata["pl_mean"], "\(what): path-length mean", file: file, line: line)
        var worst = (0.0, "")
        for (name, t) in x.tensors {
            guard let u = y.tensors[name] else { continue }
            let e = relativeL2(u.values, t.values)
            if e > worst.0 || worst.1.isEmpty { worst = (e, name) }
        }
        print("\(what): \(x.tensors.count) tensors, worst relative L2 \(worst.0) (\(worst.1))")
        XCTAssertLessThanOrEqual(worst.0, tolerance, "\(what): \(worst.1) differs", file: file, line: line)
    }

    func testTwoRanksEqualOneProcessWithAccumulationAndResumeOnOtherRankCount() throws {
        let mpirun = try Self.mpirun()
        let binary = try histoganBinary().path
        let dir = try Self.demoData("equal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = Self.network + ["--data", dir + "/data"]

        let one = try runHistogan(["train", "--output", dir + "/one", "--accumulate", "2", "--steps", "3"] + common)
        XCTAssertEqual(one.status, 0, one.output)
        let two = try Self.run(mpirun, Self.mpirunArguments(2) + [binary, "train", "--output", dir + "/two", "--steps", "3"] + common)
        XCTAssertEqual(two.status, 0, two.output)
        // Rank 0 alone prints.
        XCTAssertEqual(two.output.components(separatedBy: "data parallel: ").count, 2, two.output)
        XCTAssertEqual(two.output.components(separatedBy: "done: ").count, 2, two.output)
        try Self.assertSameCheckpoint(dir + "/one/checkpoint.safetensors", dir + "/two/checkpoint.safetensors",
                                      "2 ranks vs 1 process with --accumulate 2")
        let logs = try [dir + "/one", dir + "/two"].map { try String(contentsOfFile: $0 + "/log.jsonl", encoding: .utf8) }
        XCTAssertEqual(logs[1].split(separator: "\n").count, 3, logs[1])

        // Two steps on 2 ranks, the third in one process: the checkpoint's 2 micro-batches are kept.
        let first = try Self.run(mpirun, Self.mpirunArguments(2) + [binary, "train", "--output", dir + "/resumed", "--steps", "2"] + common)
        XCTAssertEqual(first.status, 0, first.output)
        let rest = try runHistogan(["train", "--output", dir + "/resumed", "--resume", "--steps", "3"] + common)
        XCTAssertEqual(rest.status, 0, rest.output)
        try Self.assertSameCheckpoint(dir + "/one/checkpoint.safetensors", dir + "/resumed/checkpoint.safetensors",
                                      "2 ranks, then resumed in 1 process")
    }

    /// A one-process checkpoint (1 micro-batch per step) resumed on 2 ranks: the batch is dealt anew and training goes on.
    func testResumeOnMoreRanksThanMicroBatches() throws {
        let mpirun = try Self.mpirun()
        let binary = try histoganBinary().path
        let dir = try Self.demoData("redeal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = Self.network + ["--data", dir + "/data"]
        let one = try runHistogan(["train", "--output", dir + "/run", "--steps", "1"] + common)
        XCTAssertEqual(one.status, 0, one.output)
        let two = try Self.run(mpirun, Self.mpirunArguments(2) + [binary, "train", "--output", dir + "/run", "--resume", "--steps", "2"] + common)
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.output.contains("dealt as 2 micro-batches of 2"), two.output)
        XCTAssertEqual(try SafeTensors.read(dir + "/run/checkpoint.safetensors").metadata["step"], "2")
    }

    /// Rank 1 cannot read its data (an undecodable file) while rank 0 is ready to train: the job must end with rank 1's
    /// message and a failing status (MPI_Abort), not wait forever for rank 1 in a collective.
    func testFailingRankEndsTheJobWithItsMessage() throws {
        let mpirun = try Self.mpirun()
        let binary = try histoganBinary().path
        let dir = try Self.demoData("fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/bad", withIntermediateDirectories: true)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/bad/broken.png"))
        let train = [binary, "train", "--output", dir + "/run", "--steps", "3"] + Self.network
        let result = try Self.run(mpirun, (getuid() == 0 ? ["--allow-run-as-root"] : []) + ["--oversubscribe",
                                  "-np", "1"] + train + ["--data", dir + "/data", ":", "-np", "1"] + train + ["--data", dir + "/bad"],
                                  timeout: 30)
        print("failing rank: status \(result.status) after \(String(format: "%.1f", result.seconds)) s")
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 1 of 2 failed"), result.output)
        XCTAssertTrue(result.output.contains("broken.png"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run/checkpoint.safetensors"), "a failed job wrote a checkpoint")
    }
}

/// Bytes appended from a pipe's reader thread.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = Data()
    func append(_ d: Data) { lock.withLock { storage.append(d) } }
    var data: Data { lock.withLock { storage } }
}

/// One data-parallel step seen from rank 0 of 2, with rank 1 simulated (its contributions added inside each
/// all-reduce): a NaN that only rank 1 computed must stop rank 0 too, before any update.
final class DataParallelStepTests: XCTestCase {
    static let options = TrainingOptions(network: NetworkConfig(resolution: 32, capacity: 1.0 / 64, latentDim: 16, mappingLayers: 2,
                                                                histogramBins: 8),
                                         batch: 2, accumulate: 2, steps: 2, r1Interval: 2, pathLengthInterval: 2, seed: 1)

    /// Rank 0's step against a rank 1 whose G loss is `remoteLoss` (everything else it sends is 0; its mean path length 0.3).
    func step(remoteLoss: Float) throws -> (Trainer, Result<StepStats, Error>) {
        let backend = TestBackends.cpu
        // Rank 1's slot in the gradient all-reduce starts after every gradient and flag and rank 0's slot
        // (5 reports + latent w-mean floats per micro-batch).
        let probe = try Trainer(options: Self.options, backend: backend)
        let params = probe.generator.parameters.parameters + probe.discriminator.parameters.parameters
        let remoteSlot = GradientAllReduce.elementCount(params, extraCount: 0) + 5 + 16
        let ranks = SimulatedRanks(rank: 0, size: 2) { call, i in
            switch call {
            case 0: return i == 1 ? 0.3 : 0                             // path-length means of the round
            default: return i == remoteSlot ? Double(remoteLoss) : 0    // rank 1's G loss report
            }
        }
        let trainer = try Trainer(options: Self.options, backend: backend, communicator: ranks)
        XCTAssertEqual(trainer.localMicroBatches, [0])
        let batch = try TrainingTests.realBatch([0], on: backend)
        let bank = try TargetHistogramBank(images: try TrainingTests.realBatch([0, 1], on: backend), options: Self.options.histogram)
        let targets = try bank.targets(bank.draws(step: 0, k: 0, size: 1, seed: 1), on: backend)
        let result = Result { try trainer.trainStep(realBatches: [batch], targets: [targets]) }
        XCTAssertEqual(ranks.callSizes.count, 2, "one path-length exchange and one gradient all-reduce per step")
        return (trainer, result)
    }

    func testNaNOnAnotherRankStopsThisRankBeforeAnyUpdate() throws {
        let initial = try Trainer(options: Self.options, backend: TestBackends.cpu).stateFingerprint()
        let (trainer, result) = try step(remoteLoss: .nan)
        XCTAssertThrowsError(try result.get()) { error in
            XCTAssertTrue("\(error)".contains("generator loss is nan at step 1"), "\(error)")
            XCTAssertTrue((error as? HistoGANError)?.isRaisedByEveryRank ?? false, "\(error)")
        }
        XCTAssertEqual(trainer.step, 0)
        XCTAssertEqual(trainer.pathLengthMean, 0, "the path-length mean must be restored")
        XCTAssertEqual(try trainer.stateFingerprint(), initial, "parameters changed by a step that hit NaN on another rank")
        XCTAssertTrue(trainer.generator.parameters.parameters.allSatisfy { $0.grad == nil })

        // Control: the same step with a finite remote loss updates, and the logged G loss is the mean over both ranks.
        let (ok, finite) = try step(remoteLoss: 4)
        let stats = try finite.get()
        XCTAssertEqual(ok.step, 1)
        XCTAssertNotEqual(try ok.stateFingerprint(), initial)
        let local = stats.generatorLoss * 2 - 4
        XCTAssertTrue(local.isFinite && abs(local) < 10, "G loss \(stats.generatorLoss) is not (own + 4) / 2")
    }
}
