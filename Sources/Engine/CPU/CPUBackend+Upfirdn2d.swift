// upfirdn2d on the CPU backend (upfirdn2d.cl on OpenCL). Semantics: Upfirdn2dShape+Gradient.swift.
//
// Rows polyphase, columns vectorised:
//   1. Vertically, each output row only visits the filter rows that land on real (not zero-inserted,
//      not padded) input rows (`UpfirdnTaps`, tabulated once per call).
//   2. Horizontally, every input row a work item needs is first "prepared" once: zero-inserted and
//      padded (the padded, upsampled row `xu` of step 1–2 of the semantics) and split into `downX`
//      phases, phase q holding `xu[q], xu[q + downX], …`. Output column ox with tap kx then reads
//      `phase[kx % downX][ox + kx / downX]`: for a fixed tap, consecutive outputs read consecutive
//      floats, whatever up, down and the pads are, so 16 outputs are two SIMD8 FMAs per tap.
//      (With upX > 1 half of those products meet inserted zeros; that waste buys one simple loop.)
//   3. Work items are (plane, block of output rows), spread over threads; each prepares the input rows
//      its block touches into its own scratch.
extension CPUBackend {
    public func upfirdn2d(_ shape: Upfirdn2dShape, input: any Buffer, filter: any Buffer, output: any Buffer) throws {
        try shape.validate("upfirdn2d", input: input, filter: filter, output: output)
        let x = try ptr(input, "upfirdn2d"), f = try ptr(filter, "upfirdn2d"), y = try ptr(output, "upfirdn2d")
        let (fh, fw) = (shape.filterH, shape.filterW)
        let (inH, outH, outW) = (shape.inHeight, shape.outHeight, shape.outWidth)
        guard shape.planes > 0 else { return }

        // Correlation weights: the filter flipped in both axes unless flipFilter. // [fh, fw]
        var weights = [Float](repeating: 0, count: fh * fw)
        for ky in 0..<fh {
            for kx in 0..<fw {
                weights[ky * fw + kx] = shape.flipFilter ? f[ky * fw + kx] : f[(fh - 1 - ky) * fw + (fw - 1 - kx)]
            }
        }
        let tapsY = (0..<outH).map {
            UpfirdnTaps(output: $0, inputLength: inH, up: shape.upY, down: shape.downY, pad0: shape.padY0, filter: fh)
        }
        let layout = UpfirdnRowLayout(shape)
        // Offset of tap kx inside a prepared row: phase kx % downX, position kx / downX.
        let tapOffsets = (0..<fw).map { ($0 % shape.downX) * layout.phaseLength + $0 / shape.downX }

        // Blocks of output rows: whole planes when there are enough of them, else enough blocks that
        // every thread gets about four items.
        let blocksPerPlane = min(outH, max(1, (threads * 4 + shape.planes - 1) / shape.planes))
        let blockRows = (outH + blocksPerPlane - 1) / blocksPerPlane
        let blocks = (outH + blockRows - 1) / blockRows
        // The most input rows one block touches (scratch size).
        var maxRows = 1
        for b in 0..<blocks {
            let span = Self.inputRows(tapsY, b * blockRows ..< min(outH, (b + 1) * blockRows))
            maxRows = max(maxRows, span.count)
        }

        weights.withUnsafeBufferPointer { w in
            tapOffsets.withUnsafeBufferPointer { taps in
                let w = w.baseAddress!, taps = taps.baseAddress!
                parallelFor(shape.planes * blocks, grain: 1) { items in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * layout.rowStride)
                    defer { scratch.deallocate() }
                    for item in items {
                        let plane = item / blocks, block = item % blocks
                        let rows = block * blockRows ..< min(outH, (block + 1) * blockRows)
                        let span = Self.inputRows(tapsY, rows)
                        let src = x + plane * inH * shape.inWidth
                        for iy in span { layout.prepare(src + iy * shape.inWidth, into: scratch + (iy - span.lowerBound) * layout.rowStride) }
                        for oy in rows {
                            let ty = tapsY[oy]
                            Self.upfirdnRow(prepared: scratch + (ty.first - span.lowerBound) * layout.rowStride,
                                            rowStride: layout.rowStride, rowCount: ty.count,
                                            weights: w + ty.k0 * fw, weightStride: shape.upY * fw, taps: taps, filterW: fw,
                                            gain: shape.gain, out: y + (plane * outH + oy) * outW, outW: outW)
                        }
                    }
                }
            }
        }
    }

    /// The input rows that output rows `rows` read (empty when they all fall in the padding).
    private static func inputRows(_ tapsY: [UpfirdnTaps], _ rows: Range<Int>) -> Range<Int> {
        var lo = Int.max, hi = Int.min
        for oy in rows where tapsY[oy].count > 0 {
            lo = min(lo, tapsY[oy].first)
            hi = max(hi, tapsY[oy].first + tapsY[oy].count)
        }
        return lo < hi ? lo..<hi : 0..<0
    }

    /// One output row: `out[ox] = gain · Σ_{j < rowCount} Σ_kx w_j[kx] · prepared_j[taps[kx] + ox]`, where
    /// `prepared_j = prepared + j·rowStride` and `w_j = weights + j·weightStride`. 16 outputs at a time
    /// in two SIMD8 accumulators, then 8, then a scalar tail. `rowCount == 0` writes zeros.
    @inline(__always)
    private static func upfirdnRow(prepared: UnsafePointer<Float>, rowStride: Int, rowCount: Int,
                                   weights: UnsafePointer<Float>, weightStride: Int, taps: UnsafePointer<Int>, filterW: Int,
                                   gain: Float, out: UnsafeMutablePointer<Float>, outW: Int) {
        var ox = 0
        while ox + 16 <= outW {
            var a0 = Float8(), a1 = Float8()
            for j in 0..<rowCount {
                let row = prepared + j * rowStride + ox, wr = weights + j * weightStride
                for kx in 0..<filterW {
                    let wv = Float8(repeating: wr[kx]), p = row + taps[kx]
                    a0 = a0.addingProduct(wv, load(p))
                    a1 = a1.addingProduct(wv, load(p + 8))
                }
            }
            store(a0 * gain, out + ox)
            store(a1 * gain, out + ox + 8)
            ox += 16
        }
        while ox + 8 <= outW {
            var a = Float8()
            for j in 0..<rowCount {
                let row = prepared + j * rowStride + ox, wr = weights + j * weightStride
                for kx in 0..<filterW { a = a.addingProduct(Float8(repeating: wr[kx]), load(row + taps[kx])) }
            }
            store(a * gain, out + ox)
            ox += 8
        }
        while ox < outW {
            var a: Float = 0
            for j in 0..<rowCount {
                let row = prepared + j * rowStride + ox, wr = weights + j * weightStride
                for kx in 0..<filterW { a = a.addingProduct(wr[kx], row[taps[kx]]) }
            }
            out[ox] = a * gain
            ox += 1
        }
    }
}

/// A prepared input row of upfirdn2d: the upsampled, padded row `xu` (length `paddedLength`, index
/// `j` ↔ upsampled position `j − padX0`, which holds input `(j − padX0)/upX` when divisible and in
/// range, else 0) stored as `downX` phases of `phaseLength` floats, phase q holding `xu[q + i·downX]`.
struct UpfirdnRowLayout {
    let inWidth: Int, up: Int, down: Int, pad0: Int
    let paddedLength: Int, phaseLength: Int
    /// Floats per prepared row (all phases).
    var rowStride: Int { down * phaseLength }

    init(_ s: Upfirdn2dShape) {
        inWidth = s.inWidth; up = s.upX; down = s.downX; pad0 = s.padX0
        paddedLength = s.inWidth * s.upX + s.padX0 + s.padX1
        phaseLength = (paddedLength + s.downX - 1) / s.downX
    }

    /// Writes the prepared form of input row `src` (`inWidth` floats) to `dst` (`rowStride` floats).
    @inline(__always)
    func prepare(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        if up == 1 && down == 1 {
            // Plain padding (or cropping): zeros, the row, zeros.
            let lo = max(0, pad0), skip = max(0, -pad0)
            let n = max(0, min(inWidth - skip, paddedLength - lo))
            dst.update(repeating: 0, count: lo)
            (dst + lo).update(from: src + skip, count: n)
            (dst + lo + n).update(repeating: 0, count: paddedLength - lo - n)
            return
        }
        dst.update(repeating: 0, count: rowStride)
        // Inputs i whose position j = i·up + pad0 lies in 0 ..< paddedLength.
        let iLo = max(0, (-pad0 + up - 1) / up), iHi = min(inWidth, (paddedLength - pad0 + up - 1) / up)
        guard iLo < iHi else { return }
        if down == 1 && up == 2 {
            // 2x upsampling: one phase, inputs interleaved with zeros, 8 inputs -> 16 floats at a time.
            var i = iLo, o = dst + iLo * 2 + pad0
            while i + 8 <= iHi && 2 * (i + 8) + pad0 <= paddedLength {
                var v = SIMD16<Float>()
                v.evenHalf = load(src + i)
                UnsafeMutableRawPointer(o).storeBytes(of: v, as: SIMD16<Float>.self)
                i += 8; o += 16
            }
            while i < iHi { dst[i * 2 + pad0] = src[i]; i += 1 }
        } else if down == 1 {
            // Upsampling only: one phase, input i at j (strided store).
            for i in iLo..<iHi { dst[i * up + pad0] = src[i] }
        } else if up == 1 && down == 2 {
            // 2x downsampling: even positions to phase 0, odd to phase 1, 16 inputs at a time.
            let even = dst, odd = dst + phaseLength
            // Position j = i + pad0 of input i; split at j even/odd. Start at the first input with j ≥ 0.
            var i = max(0, -pad0), j = i + pad0
            let end = min(inWidth, paddedLength - pad0)
            if j % 2 == 1, i < end { odd[j / 2] = src[i]; i += 1; j += 1 }
            // Now j is even: src[i ..< i+16] go to even[j/2 ..< j/2+8] and odd[j/2 ..< j/2+8].
            while i + 16 <= end {
                let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD16<Float>.self)
                store(v.evenHalf, even + j / 2)
                store(v.oddHalf, odd + j / 2)
                i += 16; j += 16
            }
            while i < end { (j % 2 == 0 ? even : odd)[j / 2] = src[i]; i += 1; j += 1 }
        } else if up == 1 {
            // Downsampling only: phase q, position k holds input q + k·down − pad0 (strided load).
            for q in 0..<down {
                let phase = dst + q * phaseLength
                var k = max(0, (pad0 - q + down - 1) / down), i = q + k * down - pad0
                while k < phaseLength && i < inWidth { phase[k] = src[i]; k += 1; i += down }
            }
        } else {
            for i in iLo..<iHi {
                let j = i * up + pad0
                dst[(j % down) * phaseLength + j / down] = src[i]
            }
        }
    }
}
