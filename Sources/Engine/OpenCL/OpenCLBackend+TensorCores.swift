import Foundation

// TF32 tensor-core products (gemm.cl and conv2d.cl with tf32.cl's -D TF32_MMA or -D TF32_EMULATE): opt-in, probed
// when the backend opens.
extension OpenCLBackend {
    /// The staging and arithmetic build options of a tiled kernel (gemm.cl, conv2d.cl) whose staged tile takes
    /// `fp32Bytes` of local memory in fp32 over `depth` k rows, and whose TF32 emulation exchanges `exchangeBytes`.
    /// `tensorCores` false: the tile has no TF32 form (fp32 whatever the backend's arithmetic). With TF32 each of the
    /// two local rows per k is 4 floats longer (tf32.cl's bank rule), and the emulation's exchange buffer takes local
    /// memory that double buffering then cannot.
    func stagedOptions(fp32Bytes: Int, depth: Int, exchangeBytes: Int, tensorCores: Bool, staging: TileStaging) -> String {
        let arithmetic = tensorCores ? matmulArithmetic : .fp32
        let bytes = fp32Bytes + (arithmetic == .fp32 ? 0 : depth * 8 * 4)
        let local = device.localMemoryBytes - (arithmetic == .tf32Emulated ? exchangeBytes : 0)
        let option: String
        switch arithmetic {
        case .fp32: option = ""
        case .tf32: option = " -D TF32_MMA"
        case .tf32Emulated: option = " -D TF32_EMULATE"
        }
        return staging.option(tileBytes: bytes, localMemory: local) + option
    }

    /// Turns TF32 on if it works here, else leaves fp32 and records why in `precisionNotice` (also on stderr).
    /// `emulated`: the emulated kernel, on any device (no probe: it is what the tests compare). Otherwise the device
    /// must be NVIDIA's, its compiler must accept the inline PTX, and a probe GEMM must match a TF32 reference.
    func enableTensorCores(emulated: Bool) {
        if emulated {
            matmulArithmetic = .tf32Emulated
            return
        }
        guard info.vendor.localizedCaseInsensitiveContains("nvidia") else {
            return fallBack("\(info.name) (\(info.vendor)) has no NVIDIA tensor cores")
        }
        matmulArithmetic = .tf32
        do {
            let error = try Self.tensorCoreProbe(self)
            if error > Self.tensorCoreProbeTolerance {
                fallBack(String(format: "the tensor-core probe GEMM is off by %.2e of its scale (allowed %.0e)",
                                error, Self.tensorCoreProbeTolerance))
            }
        } catch let EngineError.buildFailed(_, _, log) {
            let lines = log.split(separator: "\n").prefix(3).joined(separator: " | ")
            fallBack("the driver did not build the mma.sync kernel: " + (lines.isEmpty ? "no log" : lines))
        } catch {
            fallBack("the tensor-core probe failed: \(error)")
        }
    }

    private func fallBack(_ reason: String) {
        matmulArithmetic = .fp32
        precisionNotice = "--tf32: \(reason); the GEMMs and convolutions stay fp32"
        FileHandle.standardError.write(Data(("warning: " + precisionNotice! + "\n").utf8))
    }

    /// The probe's allowed error: TF32 products are exact in fp32, so only the fp32 sums differ from the reference
    /// (about 1e-7 of the scale); a fragment in the wrong place or a lost operand is off by O(1).
    public static let tensorCoreProbeTolerance = 1e-5

    /// Runs a 40x24x40 GEMM, `A·Bᵀ` and a batch of two `Aᵀ·B`, on every micro-tile, on `backend` and returns the
    /// largest error against a float64 product of the TF32-rounded operands, relative to Σ|a||b| per element.
    public static func tensorCoreProbe(_ backend: OpenCLBackend) throws -> Double {
        var worst = 0.0
        for tile in gemmTiles {
            for (transA, transB, batch) in [(false, true, 1), (true, false, 2)] {
                let s = GemmShape(m: 40, n: 24, k: 40, transA: transA, transB: transB, batch: batch)
                let a = (0..<s.batch * s.m * s.k).map { Float(sin(Double($0) * 0.37)) }
                let b = (0..<s.batch * s.k * s.n).map { Float(cos(Double($0) * 0.53)) }
                let (da, db, dc) = (try backend.allocate(a.count), try backend.allocate(b.count), try backend.allocate(s.batch * s.m * s.n))
                try a.withUnsafeBufferPointer { try backend.upload($0, to: da, offset: 0) }
                try b.withUnsafeBufferPointer { try backend.upload($0, to: db, offset: 0) }
                try backend.gemm(s, a: da, b: db, c: dc, tile: tile)
                var c = [Float](repeating: 0, count: s.batch * s.m * s.n)
                try c.withUnsafeMutableBufferPointer { try backend.download(dc, offset: 0, into: $0) }
                worst = max(worst, tf32ReferenceError(s, a: a, b: b, c: c))
            }
        }
        return worst
    }

    /// max over elements of |c − Σ tf32(a)·tf32(b)| / Σ |a||b| (float64 sums; TF32 rounding to nearest, ties away).
    public static func tf32ReferenceError(_ s: GemmShape, a: [Float], b: [Float], c: [Float]) -> Double {
        func tf32(_ x: Float) -> Double { Double(x.roundedToTF32) }
        var worst = 0.0
        for item in 0..<s.batch {
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var sum = 0.0, scale = 0.0
                    for k in 0..<s.k {
                        let x = tf32(a[item * s.m * s.k + (s.transA ? k * s.m + i : i * s.k + k)])
                        let y = tf32(b[item * s.k * s.n + (s.transB ? j * s.k + k : k * s.n + j)])
                        sum += x * y
                        scale += abs(x * y)
                    }
                    let got = Double(c[item * s.m * s.n + i * s.n + j])
                    worst = max(worst, got.isFinite ? abs(got - sum) / max(scale, .leastNormalMagnitude) : .infinity)
                }
            }
        }
        return worst
    }
}
