/// The arithmetic of the matrix products: `Backend.gemm` (the fully connected layers, the Winograd convolutions'
/// products) and the direct convolutions (implicit GEMMs).
/// - `fp32`: fp32 products and sums (the default; what every test and benchmark compares against).
/// - `tf32`: opt-in (`--tf32`), NVIDIA only: the operands are rounded to TF32 (10 explicit mantissa bits, relative
///   error up to 2⁻¹¹) and multiplied on the tensor cores by inline-PTX `mma.sync`, with fp32 sums. PyTorch's
///   default for convolutions (`torch.backends.cudnn.allow_tf32`). A backend that cannot do it (any other device, or
///   a driver that rejects the instruction or gets its probe wrong) computes in fp32 and says why.
public enum MatmulPrecision: String, Codable, Sendable, CaseIterable {
    case fp32, tf32
}

/// How a backend's matrix products actually compute (after any fallback).
/// - `tf32Emulated`: the TF32 kernels with `mma.sync` replaced by a local-memory emulation of its fragment semantics
///   (`HISTOGAN_TF32_EMULATE=1`, or `OpenCLBackend(emulateTensorCores:)`): slow, for checking the kernel's fragment
///   layout on a device without tensor cores.
public enum MatmulArithmetic: String, Codable, Sendable {
    case fp32, tf32, tf32Emulated = "tf32-emulated"
}

extension Float {
    /// This value rounded to TF32 (11 significant bits) to nearest, ties away from zero, as PTX's `cvt.rna.tf32.f32`
    /// (exactly representable as a Float). For host-side references: the TF32 probe and `selftest --tf32`'s inputs.
    public var roundedToTF32: Float {
        guard isFinite, self != 0 else { return self }
        let quantum = Double(sign: .plus, exponent: Int(exponent) - 10, significand: 1)
        return Float((Double(self) / quantum).rounded(.toNearestOrAwayFromZero) * quantum)
    }
}
