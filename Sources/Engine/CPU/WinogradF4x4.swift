// The matrices of Winograd F(4x4, 3x3) (interpolation points 0, ±1, ±2, ∞; winograd.cl lists them) applied to a few
// values: numbers, or whole rows of a tile held in SIMD lanes, so that one formula serves both passes of a 2-D
// transform (the columns, as vectors of rows, then each row's lanes). The expressions are winograd.cl's WINO_* macros,
// term for term.

/// What the transforms compute on: `Float`, or a row of floats in SIMD lanes.
protocol WinogradValue {
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Float, b: Self) -> Self
}

extension Float: WinogradValue {}
extension SIMD4: WinogradValue where Scalar == Float {}
extension SIMD8: WinogradValue where Scalar == Float {}

enum WinogradF4x4 {
    /// G (6x3) times (x0, x1, x2): the filter transform.
    @inline(__always)
    static func g<V: WinogradValue>(_ x0: V, _ x1: V, _ x2: V) -> (V, V, V, V, V, V) {
        let sum = x0 + x1 + x2, alternating = x0 - x1 + x2
        let high = 0.25 * x0 + 0.5 * x1 + x2, low = 0.25 * x0 - 0.5 * x1 + x2
        return (0.25 * x0, (-1.0 / 6.0) * sum, (-1.0 / 6.0) * alternating, (1.0 / 6.0) * high, (1.0 / 6.0) * low, x2)
    }

    /// Bᵀ (6x6) times (x0 … x5): the input transform.
    @inline(__always)
    static func bt<V: WinogradValue>(_ x0: V, _ x1: V, _ x2: V, _ x3: V, _ x4: V, _ x5: V) -> (V, V, V, V, V, V) {
        let y0 = 4 * x0 - 5 * x2 + x4
        let y1 = x3 + x4 - 4 * (x1 + x2)
        let y2 = 4 * (x1 - x2) + x4 - x3
        let y3 = 2 * (x3 - x1) + x4 - x2
        let y4 = 2 * (x1 - x3) + x4 - x2
        let y5 = 4 * x1 - 5 * x3 + x5
        return (y0, y1, y2, y3, y4, y5)
    }

    /// Aᵀ (4x6) times (x0 … x5): the output transform.
    @inline(__always)
    static func at<V: WinogradValue>(_ x0: V, _ x1: V, _ x2: V, _ x3: V, _ x4: V, _ x5: V) -> (V, V, V, V) {
        let (sum12, diff12, sum34, diff34) = (x1 + x2, x1 - x2, x3 + x4, x3 - x4)
        return (x0 + sum12 + sum34, diff12 + 2 * diff34, sum12 + 4 * sum34, diff12 + 8 * diff34 + x5)
    }

    /// A (6x4) times (x0 … x3): the output transform's adjoint (grad-weight's dM = A dY Aᵀ).
    @inline(__always)
    static func a<V: WinogradValue>(_ x0: V, _ x1: V, _ x2: V, _ x3: V) -> (V, V, V, V, V, V) {
        let (even1, odd1, even2, odd2) = (x0 + x2, x1 + x3, x0 + 4 * x2, x1 + 4 * x3)
        return (x0, even1 + odd1, even1 - odd1, even2 + 2 * odd2, even2 - 2 * odd2, x3)
    }

    /// Gᵀ (3x6) times (x0 … x5): the filter transform's adjoint.
    @inline(__always)
    static func gt<V: WinogradValue>(_ x0: V, _ x1: V, _ x2: V, _ x3: V, _ x4: V, _ x5: V) -> (V, V, V) {
        let (sum12, sum34) = (x1 + x2, x3 + x4)
        let y0 = 0.25 * x0 - (1.0 / 6.0) * sum12 + (1.0 / 24.0) * sum34
        let y1 = (1.0 / 6.0) * (x2 - x1) + (1.0 / 12.0) * (x3 - x4)
        let y2 = (1.0 / 6.0) * (x3 + x4 - x1 - x2) + x5
        return (y0, y1, y2)
    }
}
