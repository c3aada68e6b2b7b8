import Engine
import TestSupport
import Foundation
import XCTest

/// TuningTable / OpenCLTuner / the `choice:` launches of conv2d.cl and gemm.cl: every candidate tile and K
/// split against the plain-loop Double references (outputs NaN-poisoned first), split-K reproducibility, the
/// table file (round trip, stale key, corrupt file) and the backend actually following a table.
final class TuningTests: XCTestCase {
    /// Awkward shapes: odd channels on a 5×7 image, stride 2 with groups 3, a 4×4 output with K = 360 (several
    /// K-steps per split), all 3×3; and a 3×2 kernel at stride 2 (the index cursors with KH ≠ KW, stride
    /// phases with 2 and 1 row taps, K-steps that wrap output rows and samples).
    static let shapes: [Conv2dShape] = [
        Conv2dShape(batch: 2, inChannels: 5, outChannels: 7, height: 5, width: 7, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
        Conv2dShape(batch: 3, inChannels: 6, outChannels: 9, height: 5, width: 7, kernelH: 3, kernelW: 3, stride: 2,
                    padH: 1, padW: 1, groups: 3),
        Conv2dShape(batch: 1, inChannels: 40, outChannels: 3, height: 4, width: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
        Conv2dShape(batch: 3, inChannels: 7, outChannels: 5, height: 9, width: 6, kernelH: 3, kernelW: 2, stride: 2,
                    padH: 1, padW: 0),
    ]

    /// An OpenCL backend of its own without a table (tests here change its table).
    static let backend: OpenCLBackend? = {
        guard TestBackends.opencl != nil, let first = OpenCLDiscovery.devices().first else { return nil }
        return try? OpenCLBackend(device: first, tuning: .off)
    }()

    func requireBackend() throws -> OpenCLBackend {
        _ = try TestBackends.requireOpenCL()
        guard let cl = Self.backend else { throw XCTSkip("no second OpenCL backend") }
        return cl
    }

    func testEveryConvCandidateMatchesReference() throws {
        let cl = try requireBackend()
        for (index, s) in Self.shapes.enumerated() {
            let d = Conv2dTests.Data(s, seed: UInt64(300 + index))
            let y = ConvReference.forward(s, x: d.x, w: d.w)
            let dx = ConvReference.gradInput(s, dy: d.dy, w: d.w)
            let dw = ConvReference.gradWeight(s, x: d.x, dy: d.dy)
            let x = try cl.buffer(d.x), w = try cl.buffer(d.w), dy = try cl.buffer(d.dy)
            for tile in ConvTile.candidates {
                for splits in [1, 2, 3, 8] {
                    let out = try cl.poisoned(s.outputCount)
                    try cl.conv2d(s, input: x, weight: w, output: out, choice: KernelChoice(conv: tile, splits: splits))
                    assertClose(try cl.array(out), y, tolerance: 1e-5, "conv2d \(tile) split \(splits) \(s)")
                }
                let gi = try cl.poisoned(s.inputCount)
                try cl.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: gi, choice: KernelChoice(conv: tile))
                assertClose(try cl.array(gi), dx, tolerance: 1e-5, "conv2dGradInput \(tile) \(s)")
                for splits in [1, 2, 5] {
                    let gw = try cl.poisoned(s.weightCount)
                    try cl.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: gw, choice: KernelChoice(conv: tile, splits: splits))
                    assertClose(try cl.array(gw), dw, tolerance: 1e-5, "conv2dGradWeight \(tile) split \(splits) \(s)")
                }
            }
        }
    }

    func testEveryGemmTileMatchesReference() throws {
        let cl = try requireBackend()
        let shapes = [GemmShape(m: 33, n: 47, k: 70, transA: true, batch: 2, alpha: 0.5, beta: 0.75),
                      GemmShape(m: 5, n: 131, k: 19, transB: true)]
        for (index, s) in shapes.enumerated() {
            var rng = TestRNG(seed: UInt64(400 + index))
            let a = rng.floats(s.batch * s.m * s.k), b = rng.floats(s.batch * s.k * s.n), c = rng.floats(s.batch * s.m * s.n)
            let want = GemmTests.reference(s, a, b, c)
            for tile in GemmTile.candidates {
                let out = s.beta == 0 ? try cl.poisoned(c.count) : try cl.buffer(c)
                try cl.gemm(s, a: try cl.buffer(a), b: try cl.buffer(b), c: out, tile: tile)
                assertClose(try cl.array(out), want, tolerance: 1e-5, "gemm \(tile) \(s.m)x\(s.n)x\(s.k)")
            }
        }
    }

    /// A choice's staging survives the table's JSON (tables written before staging was tuned, without the key, load
    /// with none), and a launch follows it: another program, the same bits, the float64 reference.
    func testChoiceStaging() throws {
        let choice = KernelChoice(conv: .large, splits: 2, staging: .single)
        XCTAssertEqual(try JSONDecoder().decode(KernelChoice.self, from: try JSONEncoder().encode(choice)), choice)
        let old = #"{"conv":{"rx":16,"ry":16,"vm":4,"cm":2,"vn":4,"cn":2,"tk":16},"splits":2}"#
        XCTAssertEqual(try JSONDecoder().decode(KernelChoice.self, from: Data(old.utf8)), KernelChoice(conv: .large, splits: 2))
        XCTAssertEqual(choice.description, "128x128/256 split 2 single-buffered")
        XCTAssertEqual(TileStaging.double.other, .single)

        let cl = try requireBackend()
        // A 1×1 conv no other test of this backend launches, so neither program exists before.
        let s = Conv2dShape(batch: 2, inChannels: 6, outChannels: 20, height: 5, width: 7, kernelH: 1, kernelW: 1)
        let d = Conv2dTests.Data(s, seed: 310)
        let x = try cl.buffer(d.x), w = try cl.buffer(d.w)
        var outs: [[Float]] = []
        var built: [Int] = []
        for staging in [nil, cl.staging.other, nil] as [TileStaging?] {
            let out = try cl.poisoned(s.outputCount)
            try cl.conv2d(s, input: x, weight: w, output: out, choice: KernelChoice(conv: .medium, staging: staging))
            outs.append(try cl.array(out))
            built.append(cl.builtPrograms)
        }
        XCTAssertEqual(built[1], built[0] + 1, "the other staging builds its own program")
        XCTAssertEqual(built[2], built[1], "the default staging's program is reused")
        XCTAssertEqual(outs[0].map(\.bitPattern), outs[1].map(\.bitPattern))
        assertClose(outs[1], ConvReference.forward(s, x: d.x, w: d.w), tolerance: 1e-5, "conv2d \(cl.staging.other)-buffered")
    }

    /// Split-K partial sums are added in a fixed order: two runs give the same bits.
    func testSplitKIsBitReproducible() throws {
        let cl = try requireBackend()
        let s = Conv2dShape(batch: 2, inChannels: 128, outChannels: 32, height: 4, width: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                            weightGain: 0.37)
        let d = Conv2dTests.Data(s, seed: 500)
        let x = try cl.buffer(d.x), w = try cl.buffer(d.w), dy = try cl.buffer(d.dy)
        func forward() throws -> [Float] {
            let y = try cl.poisoned(s.outputCount)
            try cl.conv2d(s, input: x, weight: w, output: y, choice: KernelChoice(conv: .tall, splits: 4))
            return try cl.array(y)
        }
        func gradWeight() throws -> [Float] {
            let dw = try cl.poisoned(s.weightCount)
            try cl.conv2dGradWeight(s, input: x, gradOutput: dy, gradWeight: dw, choice: KernelChoice(conv: .medium, splits: 2))
            return try cl.array(dw)
        }
        let first = try forward(), second = try forward()
        XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern), "split-K forward differs run to run")
        assertClose(first, ConvReference.forward(s, x: d.x, w: d.w), tolerance: 1e-5, "split-K forward vs reference")
        XCTAssertEqual(try gradWeight().map(\.bitPattern), try gradWeight().map(\.bitPattern), "split-K grad-weight differs run to run")
    }

    /// Split-K grad-input against the float64 reference for 1–8 splits and the scaled form, stride 1 and stride 2
    /// (phases of different depth: 40·{4, 2, 2, 1}, so with 8 splits the shallow phases have empty trailing
    /// chunks that must write zeros), outputs poisoned; and the same bits run to run.
    func testSplitKGradInputMatchesReference() throws {
        let cl = try requireBackend()
        let shapes = [Conv2dShape(batch: 2, inChannels: 6, outChannels: 40, height: 4, width: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
                      Conv2dShape(batch: 2, inChannels: 6, outChannels: 40, height: 7, width: 5, kernelH: 3, kernelW: 3,
                                  stride: 2, padH: 1, padW: 1)]
        for (index, s) in shapes.enumerated() {
            let d = Conv2dTests.Data(s, seed: 510 + UInt64(index))
            let dy = try cl.buffer(d.dy), w = try cl.buffer(d.w)
            let want = ConvReference.gradInput(s, dy: d.dy, w: d.w)
            for tile in [ConvTile.tall, .thin] {
                for splits in [1, 2, 3, 8] {
                    func run() throws -> [Float] {
                        let dx = try cl.poisoned(s.inputCount)
                        try cl.conv2dGradInput(s, gradOutput: dy, weight: w, gradInput: dx, choice: KernelChoice(conv: tile, splits: splits))
                        return try cl.array(dx)
                    }
                    let first = try run()
                    assertClose(first, want, tolerance: 1e-5, "grad-input stride \(s.stride) \(tile) split \(splits)")
                    XCTAssertEqual(first.map(\.bitPattern), try run().map(\.bitPattern), "grad-input split \(splits) differs run to run")
                }
            }
            // Scaled: dx[n, c] = a[n, c]·Σ w·b[n, o]·dy, split 3 against the unsplit launch.
            var rng = TestRNG(seed: 520 + UInt64(index))
            let a = try cl.buffer(rng.floats(s.batch * s.inChannels, 0.5, 1.5)), b = try cl.buffer(rng.floats(s.batch * s.outChannels, 0.5, 1.5))
            func scaled(_ splits: Int) throws -> [Float] {
                let dx = try cl.poisoned(s.inputCount)
                try cl.scaledConv2dGradInput(s, gradOutput: dy, weight: w, inScale: a, outScale: b, gradInput: dx,
                                             choice: KernelChoice(conv: .tall, splits: splits))
                return try cl.array(dx)
            }
            assertClose(try scaled(3), try scaled(1), tolerance: 1e-5, "scaled grad-input stride \(s.stride) split 3 vs 1")
        }
    }

    /// Without a table the backend splits K only when the tiles cannot fill the device: never for a layer with
    /// enough work-groups, up to 64 ways for a 4×4 layer on a GPU-sized device, and never below 8 K-steps a split.
    func testDefaultKSplits() {
        XCTAssertEqual(OpenCLBackend.defaultKSplits(tiles: 64, depth: 4608, tk: 16, computeUnits: 2), 1)
        XCTAssertEqual(OpenCLBackend.defaultKSplits(tiles: 8, depth: 4608, tk: 16, computeUnits: 132), 33)
        XCTAssertEqual(OpenCLBackend.defaultKSplits(tiles: 1, depth: 1 << 20, tk: 16, computeUnits: 132), 64)
        XCTAssertEqual(OpenCLBackend.defaultKSplits(tiles: 1, depth: 200, tk: 16, computeUnits: 132), 1)
    }

    /// Pow-2 rounding groups shapes; kernel size and stride separate them.
    func testShapeClassGroupsShapes() {
        let a = Conv2dShape(batch: 4, inChannels: 96, outChannels: 100, height: 8, width: 8, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
        var b = a; b.outChannels = 128; b.inChannels = 112
        XCTAssertEqual(ShapeClass(.conv2dForward, conv: a), ShapeClass(.conv2dForward, conv: b))
        var c = a; c.stride = 2
        XCTAssertNotEqual(ShapeClass(.conv2dForward, conv: a), ShapeClass(.conv2dForward, conv: c))
        XCTAssertNotEqual(ShapeClass(.conv2dForward, conv: a), ShapeClass(.conv2dGradInput, conv: a))
        let cls = ShapeClass(.conv2dGradWeight, conv: a)
        XCTAssertEqual([cls.rows, cls.cols, cls.depth], [128, 1024, 256])
        XCTAssertEqual(ShapeClass(gemm: GemmShape(m: 3, n: 5, k: 9, transB: true)).transposes, "NT")
    }

    static func sampleTable(driver: String = "1.0") -> TuningTable {
        let s = shapes[2]
        return TuningTable(key: TuningKey(deviceName: "Test GPU", driverVersion: driver, platformName: "Test", kernelHash: "abc"), entries: [
            TuningTable.Entry(shapeClass: ShapeClass(.conv2dForward, conv: s), choice: KernelChoice(conv: .tall, splits: 4),
                              heuristic: KernelChoice(conv: .thin), heuristicMilliseconds: 2, bestMilliseconds: 1, shape: "s"),
            TuningTable.Entry(shapeClass: ShapeClass(gemm: GemmShape(m: 64, n: 64, k: 64)), choice: KernelChoice(gemm: GemmTile(tm: 4, tn: 8)),
                              heuristic: KernelChoice(gemm: GemmTile(tm: 4, tn: 4)), heuristicMilliseconds: 1, bestMilliseconds: 0.5, shape: "g"),
        ])
    }

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "histogan-tuning-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func testTableRoundTripAndInvalidation() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = Self.sampleTable()
        let path = try table.save(in: dir)
        XCTAssertTrue(path.hasPrefix(dir) && path.hasSuffix(".json"))
        XCTAssertEqual(try TuningTable.load(for: table.key, in: dir), table)
        XCTAssertEqual(try TuningTable.load(for: table.key, in: dir)?.choice(for: table.entries[0].shapeClass),
                       KernelChoice(conv: .tall, splits: 4))
        // Another driver (or kernel hash) is another file: not found.
        let updated = Self.sampleTable(driver: "2.0").key
        XCTAssertNotEqual(updated.fileName, table.key.fileName)
        XCTAssertNil(try TuningTable.load(for: updated, in: dir))
        var edited = table.key; edited.kernelHash = "def"
        XCTAssertNil(try TuningTable.load(for: edited, in: dir))
        // A file at the right path whose key differs (copied by hand) is stale: ignored.
        try FileManager.default.copyItem(atPath: path, toPath: TuningTable.path(for: updated, in: dir))
        XCTAssertNil(try TuningTable.load(for: updated, in: dir))
    }

    /// A corrupt table is an error naming the file from `load`, and a warning (heuristics) for the backend.
    func testCorruptTableNamesTheFile() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = Self.sampleTable().key
        let path = TuningTable.path(for: key, in: dir)
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TuningTable.load(for: key, in: dir)) { error in
            guard case let .corruptTable(named, _)? = error as? TuningError else { return XCTFail("\(error)") }
            XCTAssertEqual(named, path)
            XCTAssertTrue(String(describing: error).contains(path))
        }
        // An unknown tile is corrupt too.
        var bad = Self.sampleTable()
        bad.entries[0].choice.conv = ConvTile(rx: 3, ry: 3, vm: 1, cm: 1, vn: 1, cn: 1, tk: 9)
        try bad.save(in: dir)
        XCTAssertThrowsError(try TuningTable.load(for: key, in: dir))

        _ = try TestBackends.requireOpenCL()
        let device = try XCTUnwrap(OpenCLDiscovery.devices().first)
        let devicePath = TuningTable.path(for: TuningKey(device: device), in: dir)
        try Data("[1, 2".utf8).write(to: URL(fileURLWithPath: devicePath))
        let cl = try OpenCLBackend(device: device, tuning: TuningSettings(directory: dir))
        XCTAssertNil(cl.tuningTable)
        XCTAssertTrue(cl.tuningNotice?.contains(devicePath) ?? false, cl.tuningNotice ?? "no notice")
        // HISTOGAN_TUNING=off never reads it.
        XCTAssertFalse(TuningSettings.fromEnvironment(["HISTOGAN_TUNING": "off", "HISTOGAN_KERNEL_CACHE": dir]).enabled)
        XCTAssertEqual(TuningSettings.fromEnvironment(["HISTOGAN_KERNEL_CACHE": dir]).directory, dir)
    }

    /// With a table entry the `Backend` method launches the table's configuration (split-K: two launches, and
    /// the same bits as the explicit call); without one, the heuristic (one launch).
    func testBackendFollowsTable() throws {
        let cl = try requireBackend()
        defer { cl.useTuningTable(nil) }
        let s = Self.shapes[2]
        let d = Conv2dTests.Data(s, seed: 600)
        let x = try cl.buffer(d.x), w = try cl.buffer(d.w)
        func launches(_ body: () throws -> Void) throws -> Int {
            let before = cl.kernelLaunches ?? 0
            try body()
            return (cl.kernelLaunches ?? 0) - before
        }
        // Without a table: the heuristic tile and split count (a split adds the conv2d_sum_splits launch).
        let plain = try cl.poisoned(s.outputCount)
        let heuristic = OpenCLTuner(backend: cl).heuristic(for: .conv(.conv2dForward, s))
        XCTAssertEqual(try launches { try cl.conv2d(s, input: x, weight: w, output: plain) }, heuristic.splits > 1 ? 2 : 1)
        XCTAssertNotEqual(heuristic, KernelChoice(conv: .tall, splits: 4), "the table below must differ from the heuristic")
        var table = Self.sampleTable()
        table.key = TuningKey(device: cl.device)
        cl.useTuningTable(table)
        let tuned = try cl.poisoned(s.outputCount), explicit = try cl.poisoned(s.outputCount)
        let (_, problems) = try cl.recordingTuningProblems {
            XCTAssertEqual(try launches { try cl.conv2d(s, input: x, weight: w, output: tuned) }, 2)
        }
        XCTAssertEqual(problems, [.conv(.conv2dForward, s)])
        try cl.conv2d(s, input: x, weight: w, output: explicit, choice: KernelChoice(conv: .tall, splits: 4))
        XCTAssertEqual(try cl.array(tuned).map(\.bitPattern), try cl.array(explicit).map(\.bitPattern))
        assertClose(try cl.array(tuned), ConvReference.forward(s, x: d.x, w: d.w), tolerance: 1e-5, "tuned conv2d")
    }

    /// The tuner measures each class once, keeps a candidate, and rejects nothing on correct kernels.
    func testTunerBuildsTable() throws {
        let cl = try requireBackend()
        let s = Self.shapes[0]
        var bigger = s; bigger.batch = 3
        let problems: [TuningProblem] = [.conv(.conv2dForward, s), .conv(.conv2dForward, bigger),
                                         .gemm(GemmShape(m: 20, n: 30, k: 40, beta: 0.5))]
        XCTAssertEqual(OpenCLTuner.representatives(problems), [.conv(.conv2dForward, bigger), .gemm(GemmShape(m: 20, n: 30, k: 40))])
        let table = try OpenCLTuner(backend: cl, warmRuns: 0, timedRuns: 1).tune(problems)
        XCTAssertEqual(table.key, TuningKey(device: cl.device))
        XCTAssertEqual(table.entries.count, 2)
        for e in table.entries {
            XCTAssertNil(e.rejected, "\(e.shapeClass)")
            XCTAssertTrue(e.bestMilliseconds <= e.heuristicMilliseconds)
        }
    }

    /// A candidate whose output differs from the heuristic's is caught by the tuner's check.
    func testTunerCheckRejectsWrongOutput() {
        XCTAssertNil(OpenCLTuner.mismatch([1, 2, 3], [1, 2, 3.000_01]))
        XCTAssertNotNil(OpenCLTuner.mismatch([1, 2, 3.01], [1, 2, 3]))
        XCTAssertNotNil(OpenCLTuner.mismatch([1, .nan, 3], [1, 2, 3]))
    }
}
