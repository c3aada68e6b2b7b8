import Engine
import Foundation
import HistoGAN
import TestSupport
import XCTest

/// HistoGAN/Recolor post-steps: the 3×3 eigensolver and MKL transfer against float64 references written here,
/// the Laplacian pyramid against a naive 2-D implementation of its definition, SSIM against a naive window
/// loop, resizing against hand values, and the `transfer` command as a process.
final class RecolorPostTests: XCTestCase {
    // MARK: - Helpers (independent float64 references)

    /// A deterministic pseudo-random generator (xorshift) so the tests do not depend on Engine's RNG.
    struct Rand { var s: UInt64; mutating func next() -> Double { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return Double(s % 1_000_000) / 1_000_000 } }

    /// An image with smooth gradients, correlated channels and fine texture, values inside [lo, hi].
    func testImage(width: Int, height: Int, seed: UInt64, lo: Double = 0.2, hi: Double = 0.7) throws -> Image {
        var rng = Rand(s: seed | 1)
        var image = try Image(width: width, height: height, fill: (0, 0, 0))
        let phase = rng.next() * 6
        for y in 0..<height {
            for x in 0..<width {
                let u = Double(x) / Double(width), v = Double(y) / Double(height)
                let base = 0.5 + 0.3 * sin(3 * u + phase) * cos(2 * v), t = rng.next()
                let r = base + 0.2 * t, g = 0.6 * base + 0.3 * rng.next() + 0.1 * u, b = 0.8 - 0.5 * base + 0.2 * v * t
                for (c, value) in [r, g, b].enumerated() { image[c, y, x] = Float(lo + (hi - lo) * min(max(value, 0), 1)) }
            }
        }
        return image
    }

    /// Naive mean and unbiased covariance of an image's colours.
    func naiveStatistics(_ image: Image) -> (mean: [Double], cov: [[Double]]) {
        let n = image.width * image.height
        var mean = [0.0, 0.0, 0.0]
        for c in 0..<3 { for i in 0..<n { mean[c] += Double(image.pixels[c * n + i]) }; mean[c] /= Double(n) }
        var cov = [[Double]](repeating: [0, 0, 0], count: 3)
        for i in 0..<n { for a in 0..<3 { for b in 0..<3 {
            cov[a][b] += (Double(image.pixels[a * n + i]) - mean[a]) * (Double(image.pixels[b * n + i]) - mean[b])
        } } }
        return (mean, cov.map { $0.map { $0 / Double(n - 1) } })
    }

    typealias M = [[Double]]
    func mul(_ a: M, _ b: M) -> M { (0..<3).map { i in (0..<3).map { j in (0..<3).reduce(0) { $0 + a[i][$1] * b[$1][j] } } } }
    func identity() -> M { (0..<3).map { i in (0..<3).map { $0 == i ? 1 : 0 } } }
    func inverse(_ m: M) -> M {
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        var inv = M(repeating: [0, 0, 0], count: 3)
        for i in 0..<3 { for j in 0..<3 {
            let r = [0, 1, 2].filter { $0 != j }, c = [0, 1, 2].filter { $0 != i }
            let minor = m[r[0]][c[0]] * m[r[1]][c[1]] - m[r[0]][c[1]] * m[r[1]][c[0]]
            inv[i][j] = ((i + j) % 2 == 0 ? 1 : -1) * minor / det
        } }
        return inv
    }
    /// The principal square root of an SPD matrix by the Denman–Beavers iteration (no eigen-decomposition).
    func sqrtDB(_ m: M) -> M {
        var y = m, z = identity()
        for _ in 0..<60 {
            let yi = inverse(y), zi = inverse(z)
            y = (0..<3).map { i in (0..<3).map { j in (y[i][j] + zi[i][j]) / 2 } }
            z = (0..<3).map { i in (0..<3).map { j in (z[i][j] + yi[i][j]) / 2 } }
        }
        return y
    }
    func maxDiff(_ a: M, _ b: M) -> Double { (0..<3).flatMap { i in (0..<3).map { abs(a[i][$0] - b[i][$0]) } }.max()! }
    func rows(_ m: Matrix3) -> M { (0..<3).map { i in (0..<3).map { m[i, $0] } } }

    // MARK: - Eigensolver

    func testJacobiEigenOnHandWorkedMatrices() {
        // [[2,1,0],[1,2,0],[0,0,3]]: eigenvalues 3, 3, 1; [[5,4,0],[4,5,0],[0,0,9]] has square root [[2,1,0],[1,2,0],[0,0,3]].
        let e = SymmetricEigen3(Matrix3([2, 1, 0, 1, 2, 0, 0, 0, 3]))
        XCTAssertEqual(e.values[0], 3, accuracy: 1e-12); XCTAssertEqual(e.values[1], 3, accuracy: 1e-12)
        XCTAssertEqual(e.values[2], 1, accuracy: 1e-12)
        let root = SymmetricEigen3(Matrix3([5, 4, 0, 4, 5, 0, 0, 0, 9])).map { $0.squareRoot() }
        XCTAssertLessThan(maxDiff(rows(root), [[2, 1, 0], [1, 2, 0], [0, 0, 3]]), 1e-12)
        // Diagonal input: values sorted, vectors a permutation.
        let d = SymmetricEigen3(Matrix3(diagonal: (0.5, 7, 2)))
        XCTAssertEqual(d.values, [7, 2, 0.5])
        // A dense SPD matrix: A V = V Λ, Vᵀ V = I, and the sqrt agrees with Denman–Beavers.
        let a: M = [[4, 1.2, -0.7], [1.2, 3, 0.4], [-0.7, 0.4, 2]]
        let f = SymmetricEigen3(Matrix3(a.flatMap { $0 }))
        let v = rows(f.vectors), av = mul(a, v)
        let vl = (0..<3).map { i in (0..<3).map { v[i][$0] * f.values[$0] } }
        XCTAssertLessThan(maxDiff(av, vl), 1e-12)
        XCTAssertLessThan(maxDiff(mul(rows(f.vectors.transposed), v), identity()), 1e-12)
        XCTAssertLessThan(maxDiff(rows(f.map { $0.squareRoot() }), sqrtDB(a)), 1e-10)
    }

    // MARK: - MKL

    func testMKLMappingAgainstClosedForm() {
        // Diagonal covariances: T = diag(√(b/a)).
        let t = ColorTransferMKL.mapping(from: Matrix3(diagonal: (0.04, 0.01, 0.09)), to: Matrix3(diagonal: (0.01, 0.04, 0.01)))
        XCTAssertLessThan(maxDiff(rows(t), [[0.5, 0, 0], [0, 2, 0], [0, 0, 1.0 / 3]]), 1e-7)
        // Dense: T = A^{-1/2} (A^{1/2} B A^{1/2})^{1/2} A^{-1/2} by Denman–Beavers; and T A T = B.
        let a: M = [[0.05, 0.02, 0.01], [0.02, 0.04, 0.015], [0.01, 0.015, 0.03]]
        let b: M = [[0.02, -0.005, 0.004], [-0.005, 0.03, 0.01], [0.004, 0.01, 0.06]]
        let ah = sqrtDB(a), ahi = inverse(ah)
        let reference = mul(mul(ahi, sqrtDB(mul(mul(ah, b), ah))), ahi)
        let got = rows(ColorTransferMKL.mapping(from: Matrix3(a.flatMap { $0 }), to: Matrix3(b.flatMap { $0 })))
        XCTAssertLessThan(maxDiff(got, reference), 1e-8, "\(got) vs \(reference)")
        XCTAssertLessThan(maxDiff(mul(mul(got, a), got), b), 1e-9)
    }

    func testTransferMatchesTargetMeanAndCovariance() throws {
        let input = try testImage(width: 41, height: 29, seed: 3, lo: 0.35, hi: 0.65)
        let target = try testImage(width: 23, height: 37, seed: 11, lo: 0.3, hi: 0.6)
        let out = try ColorTransferMKL.transfer(input, toward: target, clamp: false)
        XCTAssertEqual(out.width, 41); XCTAssertEqual(out.height, 29)
        let o = naiveStatistics(out), t = naiveStatistics(target)
        for c in 0..<3 { XCTAssertEqual(o.mean[c], t.mean[c], accuracy: 1e-4) }
        XCTAssertLessThan(maxDiff(o.cov, t.cov), 1e-4 * 0.1, "output covariance \(o.cov) vs target \(t.cov)")
        // Pixels against T from the Denman–Beavers closed form, applied in the test.
        let i = naiveStatistics(input)
        let ah = sqrtDB(i.cov), ahi = inverse(ah)
        let tt = mul(mul(ahi, sqrtDB(mul(mul(ah, t.cov), ah))), ahi)
        let n = input.width * input.height
        var expected = [Double](repeating: 0, count: 3 * n)
        for p in 0..<n { for r in 0..<3 {
            expected[r * n + p] = t.mean[r] + (0..<3).reduce(0) { $0 + tt[r][$1] * (Double(input.pixels[$1 * n + p]) - i.mean[$1]) }
        } }
        assertClose(out.pixels, expected, tolerance: 1e-5, "MKL pixels vs float64 closed form")
        // Identity when input == target; clamped output stays in [0, 1].
        let same = try ColorTransferMKL.transfer(input, toward: input)
        XCTAssertLessThan(zip(same.pixels, input.pixels).map { abs($0 - $1) }.max()!, 1e-5)
        let wild = try ColorTransferMKL.transfer(input, toward: try testImage(width: 8, height: 8, seed: 5, lo: 0, hi: 1))
        XCTAssertTrue(wild.pixels.allSatisfy { (0...1).contains($0) })
    }

    func testTransferRejectsBadInputs() throws {
        let colour = try testImage(width: 8, height: 8, seed: 2)
        let grey = try Image(width: 8, height: 8, pixels: Array(colour.pixels[0..<64]) + Array(colour.pixels[0..<64]) + Array(colour.pixels[0..<64]))
        XCTAssertThrowsError(try ColorTransferMKL.transfer(grey, toward: colour, inputName: "g.png")) { error in
            guard case let RecolorError.greyscale(image, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(image, "g.png")
        }
        XCTAssertNoThrow(try ColorTransferMKL.transfer(colour, toward: grey)) // a grey target is well defined
        let tiny = try Image(width: 3, height: 9, fill: (0.1, 0.5, 0.9))
        XCTAssertThrowsError(try ColorTransferMKL.transfer(colour, toward: tiny, targetName: "t.png")) { error in
            XCTAssertEqual(error as? RecolorError, .imageTooSmall(image: "t.png", size: ImageSize(width: 3, height: 9), minimum: 4))
        }
        var nan = colour; nan.pixels[5] = .nan
        XCTAssertThrowsError(try ColorTransferMKL.transfer(nan, toward: colour))
    }

    // MARK: - Resize

    func testResizeHandValues() throws {
        // 4x1 → 2x1 box: pairs averaged; 3x1 → 2x1: (a + b/2)/1.5 and (b/2 + c)/1.5; 2x1 → 4x1 bilinear.
        func row(_ v: [Float]) throws -> Image { try Image(width: v.count, height: 1, pixels: v + v + v) }
        XCTAssertEqual(try ImageResize.resized(row([1, 3, 5, 9]), width: 2, height: 1).pixels[0..<2], [2, 7])
        let three = try ImageResize.resized(row([0.3, 0.6, 0.9]), width: 2, height: 1).pixels
        XCTAssertEqual(three[0], (0.3 + 0.3) / 1.5, accuracy: 1e-6); XCTAssertEqual(three[1], (0.3 + 0.9) / 1.5, accuracy: 1e-6)
        let up = try ImageResize.resized(row([0.2, 0.6]), width: 4, height: 1).pixels
        for (g, w) in zip(up[0..<4], [0.2, 0.3, 0.5, 0.6] as [Float]) { XCTAssertEqual(g, w, accuracy: 1e-6) }
        // 2-D: 4x4 → 2x2 is the mean of each 2x2 block, per channel.
        let img = try testImage(width: 4, height: 4, seed: 9)
        let small = try ImageResize.resized(img, width: 2, height: 2)
        for c in 0..<3 { for y in 0..<2 { for x in 0..<2 {
            let mean = (img[c, 2 * y, 2 * x] + img[c, 2 * y, 2 * x + 1] + img[c, 2 * y + 1, 2 * x] + img[c, 2 * y + 1, 2 * x + 1]) / 4
            XCTAssertEqual(small[c, y, x], mean, accuracy: 1e-6)
        } } }
        XCTAssertEqual(try ImageResize.resized(img, width: 4, height: 4), img)
        XCTAssertThrowsError(try ImageResize.resized(img, width: 0, height: 3))
    }

    // MARK: - Pyramid

    /// Naive 2-D pyrDown / pyrUp straight from the definition (5x5 kernel, reflect-101), one plane `[h][w]`.
    func reflect(_ i: Int, _ n: Int) -> Int { n == 1 ? 0 : (i < 0 ? reflect(-i, n) : (i >= n ? reflect(2 * n - 2 - i, n) : i)) }
    let k5: [Double] = [1, 4, 6, 4, 1]
    func naiveDown(_ p: [[Double]]) -> [[Double]] {
        let h = p.count, w = p[0].count
        return (0..<(h + 1) / 2).map { y in (0..<(w + 1) / 2).map { x in
            var s = 0.0
            for i in 0..<5 { for j in 0..<5 { s += k5[i] * k5[j] / 256 * p[reflect(2 * y + i - 2, h)][reflect(2 * x + j - 2, w)] } }
            return s
        } }
    }
    func naiveUp(_ p: [[Double]], _ h: Int, _ w: Int) -> [[Double]] {
        var z = [[Double]](repeating: [Double](repeating: 0, count: w), count: h)
        for y in stride(from: 0, to: h, by: 2) { for x in stride(from: 0, to: w, by: 2) { z[y][x] = p[y / 2][x / 2] } }
        return (0..<h).map { y in (0..<w).map { x in
            var s = 0.0
            for i in 0..<5 { for j in 0..<5 { s += k5[i] * k5[j] / 64 * z[reflect(y + i - 2, h)][reflect(x + j - 2, w)] } }
            return s
        } }
    }

    func testPyramidAgainstNaiveDefinition() throws {
        // Same-size recoloured image (so no resize is involved): a full Laplacian collapse done naively.
        let original = try testImage(width: 37, height: 23, seed: 21), recoloured = try testImage(width: 37, height: 23, seed: 22)
        let levels = 3
        let out = try PyramidUpsampling.upsample(recoloured, original: original, levels: levels)
        XCTAssertEqual(out.width, 37); XCTAssertEqual(out.height, 23)
        var expected: [Double] = []
        for c in 0..<3 {
            let plane = { (im: Image) in (0..<23).map { y in (0..<37).map { x in Double(im[c, y, x]) } } }
            var g = [plane(original)], r = [plane(recoloured)]
            for _ in 1..<levels { g.append(naiveDown(g.last!)); r.append(naiveDown(r.last!)) }
            var acc = r[levels - 1]
            for k in stride(from: levels - 2, through: 0, by: -1) {
                let h = g[k].count, w = g[k][0].count
                let upAcc = naiveUp(acc, h, w), upG = naiveUp(g[k + 1], h, w)
                let fine: [[Double]] = g[k]
                var next = upAcc
                for y in 0..<h { for x in 0..<w { next[y][x] = upAcc[y][x] + fine[y][x] - upG[y][x] } }
                acc = next
            }
            let flat: [Double] = acc.flatMap { $0 }
            expected += flat.map { min(max($0, 0), 1) }
        }
        assertClose(out.pixels, expected, tolerance: 1e-5, "pyramid vs naive Laplacian collapse")
        // levels = 1 gives the recoloured image itself.
        XCTAssertLessThan(zip(try PyramidUpsampling.upsample(recoloured, original: original, levels: 1).pixels, recoloured.pixels)
            .map { abs($0 - $1) }.max()!, 1e-6)
        XCTAssertThrowsError(try PyramidUpsampling.upsample(recoloured, original: original, levels: 0))
    }

    func testPyramidKeepsOriginalAndFollowsShifts() throws {
        for (w, h) in [(96, 64), (37, 23), (65, 33)] {
            let original = try testImage(width: w, height: h, seed: UInt64(w * h))
            let small = try ImageResize.resized(original, width: 16, height: 16)
            let out = try PyramidUpsampling.upsample(small, original: original)
            XCTAssertEqual(out.width, w); XCTAssertEqual(out.height, h)
            let meanErr = zip(out.pixels, original.pixels).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(out.pixels.count)
            XCTAssertLessThan(meanErr, 0.01, "\(w)x\(h): round trip through 16x16 changed the image by \(meanErr) on average")
            // A constant shift in the recoloured image shifts the output by that constant (no clamping involved).
            var shifted = small
            for c in 0..<3 { for i in 0..<256 { shifted.pixels[c * 256 + i] += [0.1, -0.05, 0.2][c] } }
            let moved = try PyramidUpsampling.upsample(shifted, original: original)
            for c in 0..<3 {
                let n = w * h
                let d = (0..<n).map { moved.pixels[c * n + $0] - out.pixels[c * n + $0] }
                XCTAssertLessThan(d.map { abs($0 - [0.1, -0.05, 0.2][c]) }.max()!, 1e-5, "\(w)x\(h) channel \(c)")
            }
        }
        // A recoloured image larger than the original is shrunk first; 1x1 originals work.
        let tiny = try Image(width: 1, height: 1, fill: (0.2, 0.4, 0.6))
        let big = try Image(width: 8, height: 8, fill: (0.5, 0.5, 0.5))
        XCTAssertEqual(try PyramidUpsampling.upsample(big, original: tiny).pixels, [0.5, 0.5, 0.5])
    }

    // MARK: - SSIM

    /// SSIM by a direct 2-D window loop over valid positions.
    func naiveSSIM(_ a: Image, _ b: Image) -> Double {
        func y(_ im: Image, _ r: Int, _ c: Int) -> Double { 0.299 * Double(im[0, r, c]) + 0.587 * Double(im[1, r, c]) + 0.114 * Double(im[2, r, c]) }
        var win = [[Double]](repeating: [Double](repeating: 0, count: 11), count: 11), total = 0.0
        for i in 0..<11 { for j in 0..<11 { win[i][j] = exp(-Double((i - 5) * (i - 5) + (j - 5) * (j - 5)) / (2 * 1.5 * 1.5)) } }
        let s = win.flatMap { $0 }.reduce(0, +)
        var sum = 0.0, count = 0
        for r in 0...(a.height - 11) { for c in 0...(a.width - 11) {
            var ma = 0.0, mb = 0.0, aa = 0.0, bb = 0.0, ab = 0.0
            for i in 0..<11 { for j in 0..<11 {
                let w = win[i][j] / s, va = y(a, r + i, c + j), vb = y(b, r + i, c + j)
                ma += w * va; mb += w * vb; aa += w * va * va; bb += w * vb * vb; ab += w * va * vb
            } }
            let (c1, c2) = (0.0001, 0.0009)
            sum += (2 * ma * mb + c1) * (2 * (ab - ma * mb) + c2) / ((ma * ma + mb * mb + c1) * (aa - ma * ma + bb - mb * mb + c2))
            count += 1
        } }
        total = sum / Double(count)
        return total
    }

    func testSSIM() throws {
        let a = try testImage(width: 17, height: 14, seed: 31), b = try testImage(width: 17, height: 14, seed: 32)
        XCTAssertEqual(try StructureSimilarity.luminanceSSIM(a, a), 1, accuracy: 1e-12)
        let got = try StructureSimilarity.luminanceSSIM(a, b)
        XCTAssertEqual(got, naiveSSIM(a, b), accuracy: 1e-10)
        XCTAssertLessThan(got, 0.9)
        // More noise, lower SSIM.
        var rng = Rand(s: 77), last = 1.0
        let noise = (0..<a.pixels.count).map { _ in Float(rng.next() - 0.5) }
        for amplitude in [Float(0.02), 0.05, 0.1, 0.3] {
            var noisy = a
            for i in noisy.pixels.indices { noisy.pixels[i] += amplitude * noise[i] }
            let s = try StructureSimilarity.luminanceSSIM(a, noisy)
            XCTAssertLessThan(s, last, "SSIM should fall as noise grows (amplitude \(amplitude))")
            last = s
        }
        XCTAssertThrowsError(try StructureSimilarity.luminanceSSIM(a, try testImage(width: 17, height: 15, seed: 1))) { error in
            guard case RecolorError.mismatchedSizes = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try StructureSimilarity.luminanceSSIM(try testImage(width: 10, height: 30, seed: 1), try testImage(width: 10, height: 30, seed: 2)))
    }

    // MARK: - transfer command

    func testTransferCommand() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("transfer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.png").path, target = dir.appendingPathComponent("t.png").path
        let output = dir.appendingPathComponent("out.png").path, grey = dir.appendingPathComponent("grey.png").path
        try ImageIO.writePNG(try testImage(width: 30, height: 20, seed: 41), to: input)
        try ImageIO.writePNG(try testImage(width: 12, height: 16, seed: 42, lo: 0, hi: 0.5), to: target)
        try ImageIO.writePNG(try Image(width: 8, height: 8, fill: (0.4, 0.4, 0.4)), to: grey)
        let ok = try runHistogan(["transfer", "--input", input, "--target", target, "--output", output])
        XCTAssertEqual(ok.status, 0, ok.output)
        let written = try ImageIO.read(output)
        XCTAssertEqual(ImageSize(written), ImageSize(width: 30, height: 20))
        XCTAssertTrue(ok.output.contains("luminance SSIM to input"), ok.output)
        let low = try runHistogan(["transfer", "--input", input, "--target", target, "--output", output, "--low-res", "8", "--pyramid-levels", "2"])
        XCTAssertEqual(low.status, 0, low.output); XCTAssertTrue(low.output.contains("at 8x8 + pyramid (2 levels)"), low.output)
        XCTAssertEqual(ImageSize(try ImageIO.read(output)), ImageSize(width: 30, height: 20))
        let greyRun = try runHistogan(["transfer", "--input", grey, "--target", target, "--output", output])
        XCTAssertNotEqual(greyRun.status, 0); XCTAssertTrue(greyRun.output.contains("grey.png is greyscale"), greyRun.output)
        let missing = try runHistogan(["transfer", "--input", input + "x", "--target", target, "--output", output])
        XCTAssertNotEqual(missing.status, 0); XCTAssertTrue(missing.output.contains("in.pngx: no such file"), missing.output)
        let badOut = try runHistogan(["transfer", "--input", input, "--target", target, "--output", dir.path + "/o.jpg"])
        XCTAssertNotEqual(badOut.status, 0); XCTAssertTrue(badOut.output.contains("must be a .png"), badOut.output)
    }
}
