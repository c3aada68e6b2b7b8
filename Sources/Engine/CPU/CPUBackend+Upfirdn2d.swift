// upfirdn2d on the CPU backend (upfirdn2d.cl on OpenCL). Semantics: Upfirdn2dShape+Gradient.swift.
//
// Polyphase: each output sample only visits the filter taps that land on real (not zero-inserted,
// not padded) input samples. The taps of every output column and row are tabulated once per call;
// rows of all planes are split over threads.
extension CPUBackend {
    public func upfirdn2d(_ shape: Upfirdn2dShape, input: any Buffer, filter: any Buffer, output: any Buffer) throws {
        try shape.validate("upfirdn2d", input: input, filter: filter, output: output)
        let x = try ptr(input, "upfirdn2d"), f = try ptr(filter, "upfirdn2d"), y = try ptr(output, "upfirdn2d")
        let (fh, fw) = (shape.filterH, shape.filterW)
        let (inH, inW, outH, outW) = (shape.inHeight, shape.inWidth, shape.outHeight, shape.outWidth)

        // Correlation weights: the filter flipped in both axes unless flipFilter. // [fh, fw]
        var weights = [Float](repeating: 0, count: fh * fw)
        for ky in 0..<fh {
            for kx in 0..<fw {
                weights[ky * fw + kx] = shape.flipFilter ? f[ky * fw + kx] : f[(fh - 1 - ky) * fw + (fw - 1 - kx)]
            }
        }
        let tapsX = (0..<outW).map {
            UpfirdnTaps(output: $0, inputLength: inW, up: shape.upX, down: shape.downX, pad0: shape.padX0, filter: fw)
        }
        let tapsY = (0..<outH).map {
            UpfirdnTaps(output: $0, inputLength: inH, up: shape.upY, down: shape.downY, pad0: shape.padY0, filter: fh)
        }
        let (upX, upY, gain) = (shape.upX, shape.upY, shape.gain)
        let work = max(1, outW * ((fh + upY - 1) / upY) * ((fw + upX - 1) / upX))

        weights.withUnsafeBufferPointer { w in
            parallelFor(shape.planes * outH, grain: max(1, 16384 / work)) { rows in
                for row in rows {
                    let plane = row / outH, oy = row % outH
                    let ty = tapsY[oy]
                    let src = x + plane * inH * inW
                    let dst = y + row * outW
                    for ox in 0..<outW {
                        let tx = tapsX[ox]
                        var acc: Float = 0
                        for j in 0..<ty.count {
                            let inRow = src + (ty.first + j) * inW + tx.first
                            let wRow = w.baseAddress! + (ty.k0 + j * upY) * fw + tx.k0
                            for i in 0..<tx.count { acc += inRow[i] * wRow[i * upX] }
                        }
                        dst[ox] = acc * gain
                    }
                }
            }
        }
    }
}
