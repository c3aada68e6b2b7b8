// Transposed 2-D convolution ("deconvolution"), the adjoint of `conv2d`, over `Backend.conv2dGradInput`.

extension Tensor {
    /// Transposed convolution, PyTorch `conv_transpose2d` semantics (no output padding, groups 1):
    /// `y[n, o, s·i + ky − p, s·j + kx − p] += Σ_c x[n, c, i, j]·w[c, o, ky, kx]`.
    /// x `[N, C, H, W]`, weight `[C, O, k, k]` → `[N, O, (H − 1)·s − 2p + k, (W − 1)·s − 2p + k]`.
    ///
    /// It is the input gradient of the `conv2d` that maps y back to x, so forward, VJP and second derivatives
    /// are the three conv2d kernels of both backends (`conv2dGradInput`, `conv2d`, `conv2dGradWeight`).
    public static func convTranspose2d(_ x: Tensor, weight: Tensor, stride: Int = 2, padding: Int = 1) throws -> Tensor {
        guard x.rank == 4, weight.rank == 4, weight.shape[0] == x.shape[1], weight.shape[2] == weight.shape[3] else {
            throw EngineError.shapeMismatch(op: "convTranspose2d", detail: "input \(x.shape), weight \(weight.shape)")
        }
        let k = weight.shape[2]
        let outH = (x.shape[2] - 1) * stride - 2 * padding + k, outW = (x.shape[3] - 1) * stride - 2 * padding + k
        guard outH > 0, outW > 0 else {
            throw EngineError.shapeMismatch(op: "convTranspose2d", detail: "input \(x.shape) gives an empty output with k \(k), stride \(stride), padding \(padding)")
        }
        return try conv2dGradInput(x, weight: weight, inputShape: [x.shape[0], weight.shape[1], outH, outW],
                                   stride: stride, padding: padding)
    }
}
