/// A 3×3 matrix of `Double`, row-major, for colour statistics (covariances, colour maps).
public struct Matrix3: Sendable, Equatable, CustomStringConvertible {
    /// The nine entries, row by row: `entries[3 * row + column]`.
    public var entries: [Double]

    /// A matrix from nine row-major entries.
    public init(_ entries: [Double]) {
        precondition(entries.count == 9, "Matrix3 needs 9 entries, got \(entries.count)")
        self.entries = entries
    }

    /// The matrix with `diagonal` on its diagonal and zeros elsewhere.
    public init(diagonal: (Double, Double, Double)) {
        self.init([diagonal.0, 0, 0, 0, diagonal.1, 0, 0, 0, diagonal.2])
    }

    /// The identity.
    public static let identity = Matrix3(diagonal: (1, 1, 1))

    /// The entry at `row`, `column`.
    public subscript(row: Int, column: Int) -> Double {
        get { entries[3 * row + column] }
        set { entries[3 * row + column] = newValue }
    }

    /// The transpose.
    public var transposed: Matrix3 {
        var t = self
        for r in 0..<3 { for c in 0..<3 { t[r, c] = self[c, r] } }
        return t
    }

    /// The largest absolute entry.
    public var maxAbs: Double { entries.reduce(0) { max($0, abs($1)) } }

    /// The matrix product `a · b`.
    public static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        var p = Matrix3([Double](repeating: 0, count: 9))
        for r in 0..<3 { for c in 0..<3 { p[r, c] = a[r, 0] * b[0, c] + a[r, 1] * b[1, c] + a[r, 2] * b[2, c] } }
        return p
    }

    /// The entrywise difference.
    public static func - (a: Matrix3, b: Matrix3) -> Matrix3 { Matrix3(zip(a.entries, b.entries).map { $0 - $1 }) }

    /// The matrix times the column vector `v`.
    public func apply(_ v: (Double, Double, Double)) -> (Double, Double, Double) {
        (self[0, 0] * v.0 + self[0, 1] * v.1 + self[0, 2] * v.2,
         self[1, 0] * v.0 + self[1, 1] * v.1 + self[1, 2] * v.2,
         self[2, 0] * v.0 + self[2, 1] * v.1 + self[2, 2] * v.2)
    }

    public var description: String {
        (0..<3).map { r in "[" + (0..<3).map { c in "\(self[r, c])" }.joined(separator: ", ") + "]" }.joined(separator: " ")
    }
}

/// The eigen-decomposition `A = V · diag(λ) · Vᵀ` of a symmetric 3×3 matrix by cyclic Jacobi rotations
/// (Golub & Van Loan §8.5): each sweep zeroes the off-diagonal entries (p, q) in turn with the rotation
/// `θ = (a_qq − a_pp) / (2 a_pq)`, `t = sign(θ) / (|θ| + √(θ² + 1))`, `c = 1/√(t² + 1)`, `s = t·c`, until the
/// off-diagonal mass is below 1e-30 of the total (quadratic convergence: a few sweeps).
public struct SymmetricEigen3: Sendable {
    /// The eigenvalues, largest first.
    public let values: [Double]
    /// The eigenvectors as columns, in the order of `values`; orthonormal.
    public let vectors: Matrix3

    /// The decomposition of `a`, which must be symmetric (only its upper triangle is read).
    public init(_ a: Matrix3) {
        var m = a
        for r in 0..<3 { for c in 0..<r { m[r, c] = m[c, r] } }
        var v = Matrix3.identity
        let total = m.entries.reduce(0) { $0 + $1 * $1 }
        for _ in 0..<50 {
            let off = m[0, 1] * m[0, 1] + m[0, 2] * m[0, 2] + m[1, 2] * m[1, 2]
            if off <= 1e-30 * total || off == 0 { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] where m[p, q] != 0 {
                let theta = (m[q, q] - m[p, p]) / (2 * m[p, q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                // m ← Jᵀ m J with J the rotation in the (p, q) plane; v ← v J.
                for k in 0..<3 {
                    let mkp = m[k, p], mkq = m[k, q]
                    m[k, p] = c * mkp - s * mkq; m[k, q] = s * mkp + c * mkq
                }
                for k in 0..<3 {
                    let mpk = m[p, k], mqk = m[q, k]
                    m[p, k] = c * mpk - s * mqk; m[q, k] = s * mpk + c * mqk
                }
                for k in 0..<3 {
                    let vkp = v[k, p], vkq = v[k, q]
                    v[k, p] = c * vkp - s * vkq; v[k, q] = s * vkp + c * vkq
                }
            }
        }
        let order = [0, 1, 2].sorted { m[$0, $0] > m[$1, $1] }
        values = order.map { m[$0, $0] }
        var sorted = Matrix3.identity
        for (j, k) in order.enumerated() { for r in 0..<3 { sorted[r, j] = v[r, k] } }
        vectors = sorted
    }

    /// `V · diag(f(λ)) · Vᵀ`: a function of the matrix (e.g. its square root with `f = √max(λ, 0)`).
    public func map(_ f: (Double) -> Double) -> Matrix3 {
        let d = Matrix3(diagonal: (f(values[0]), f(values[1]), f(values[2])))
        return vectors * d * vectors.transposed
    }
}
