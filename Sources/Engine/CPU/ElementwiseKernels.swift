import Foundation

// The elementwise functions of the CPU backend, each in a scalar and an 8-lane form
// (driver loops: CPUBackend+Elementwise.swift).
//
// Every vector form computes, lane by lane, exactly the IEEE operations of its scalar form (no fused
// multiply-add, no approximations), so a fast path that uses it returns the same bits as the scalar
// loop. Functions without a vector instruction (exp, log, pow) keep the default: the scalar form per lane.

typealias Float8 = SIMD8<Float>

/// A unary elementwise function.
protocol UnaryKernel {
    func scalar(_ x: Float) -> Float
    func vector(_ x: Float8) -> Float8
}

/// A binary elementwise function.
protocol BinaryKernel {
    func scalar(_ a: Float, _ b: Float) -> Float
    func vector(_ a: Float8, _ b: Float8) -> Float8
}

extension UnaryKernel {
    @inline(__always) func vector(_ x: Float8) -> Float8 {
        var r = Float8()
        for l in 0..<8 { r[l] = scalar(x[l]) }
        return r
    }
}

extension BinaryKernel {
    @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 {
        var r = Float8()
        for l in 0..<8 { r[l] = scalar(a[l], b[l]) }
        return r
    }
}

// MARK: - Unary

/// The unary functions, by `UnaryOp` case. Comparisons mirror the scalar ternaries: `Swift.max(x, 0)`
/// is `0 >= x ? 0 : x`, so NaN stays NaN in both forms.
enum UnaryKernels {
    struct Neg: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { -x }
        // Flip the sign bit: SIMD's prefix minus is `0 - x`, which turns +0 into +0, not -0.
        @inline(__always) func vector(_ x: Float8) -> Float8 {
            unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) ^ 0x8000_0000, to: Float8.self)
        }
    }
    struct Sqrt: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { x.squareRoot() }
        @inline(__always) func vector(_ x: Float8) -> Float8 { x.squareRoot() }
    }
    struct Rsqrt: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { 1 / x.squareRoot() }
        @inline(__always) func vector(_ x: Float8) -> Float8 { 1 / x.squareRoot() }
    }
    struct Exp: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { Foundation.exp(x) }
    }
    struct Log: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { Foundation.log(x) }
    }
    struct Square: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { x * x }
        @inline(__always) func vector(_ x: Float8) -> Float8 { x * x }
    }
    struct Abs: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { Swift.abs(x) }
        // Clearing the sign bit is what `Swift.abs` does for Float.
        @inline(__always) func vector(_ x: Float8) -> Float8 {
            unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Float8.self)
        }
    }
    struct Softplus: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))) }
    }
    /// e^x / (1 + e^x) for negative x, so e^−x never overflows.
    struct Sigmoid: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float {
            x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
        }
    }
    struct Tanh: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { Foundation.tanh(x) }
    }
    struct Relu: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { Swift.max(x, 0) }
        @inline(__always) func vector(_ x: Float8) -> Float8 { x.replacing(with: 0, where: x .<= 0) }
    }
    struct Sign: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
        @inline(__always) func vector(_ x: Float8) -> Float8 {
            Float8().replacing(with: 1, where: x .> 0).replacing(with: -1, where: x .< 0)
        }
    }
    struct Reciprocal: UnaryKernel {
        @inline(__always) func scalar(_ x: Float) -> Float { 1 / x }
        @inline(__always) func vector(_ x: Float8) -> Float8 { 1 / x }
    }
    struct LeakyReLU: UnaryKernel {
        let alpha: Float
        @inline(__always) func scalar(_ x: Float) -> Float { x > 0 ? x : alpha * x }
        @inline(__always) func vector(_ x: Float8) -> Float8 { (alpha * x).replacing(with: x, where: x .> 0) }
    }
    struct Scale: UnaryKernel {
        let k: Float
        @inline(__always) func scalar(_ x: Float) -> Float { x * k }
        @inline(__always) func vector(_ x: Float8) -> Float8 { x * k }
    }
    struct AddScalar: UnaryKernel {
        let k: Float
        @inline(__always) func scalar(_ x: Float) -> Float { x + k }
        @inline(__always) func vector(_ x: Float8) -> Float8 { x + k }
    }
    struct PowScalar: UnaryKernel {
        let p: Float
        @inline(__always) func scalar(_ x: Float) -> Float { Foundation.pow(x, p) }
    }
    struct Step: UnaryKernel {
        let t: Float
        @inline(__always) func scalar(_ x: Float) -> Float { x > t ? 1 : 0 }
        @inline(__always) func vector(_ x: Float8) -> Float8 { Float8().replacing(with: 1, where: x .> t) }
    }
}

// MARK: - Binary

/// The binary functions, by `BinaryOp` case. `Swift.max(a, b)` is `b >= a ? b : a` and `Swift.min(a, b)`
/// is `b < a ? b : a`; the vector forms select with the same comparisons.
enum BinaryKernels {
    struct Add: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a + b }
        @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 { a + b }
    }
    struct Sub: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a - b }
        @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 { a - b }
    }
    struct Mul: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a * b }
        @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 { a * b }
    }
    struct Div: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a / b }
        @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 { a / b }
    }
    struct Pow: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { Foundation.pow(a, b) }
    }
    struct Maximum: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { Swift.max(a, b) }
        @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 { a.replacing(with: b, where: b .>= a) }
    }
    struct Minimum: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { Swift.min(a, b) }
        @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 { a.replacing(with: b, where: b .< a) }
    }
    struct Greater: BinaryKernel {
        @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a > b ? 1 : 0 }
        @inline(__always) func vector(_ a: Float8, _ b: Float8) -> Float8 { Float8().replacing(with: 1, where: a .> b) }
    }
}
