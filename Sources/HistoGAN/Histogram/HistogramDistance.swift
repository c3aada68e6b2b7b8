import Engine
import Foundation

/// Distances between RGB-uv histograms (each `[3, bins, bins]`, or a batch of them), computed on the
/// host in Double. Independent of any backend, so `histogram --compare` and tests can trust them.
public enum HistogramDistance {
    /// Weight α of the histogram loss in HistoGAN's generator objective.
    public static let lossWeight = 2.0

    /// Hellinger distance `(1/√2)·‖√p − √q‖₂` of two histograms, each first divided by its sum (so
    /// the result lies in [0, 1]; 0 for equal histograms, 1 for disjoint ones).
    public static func hellinger(_ p: [Float], _ q: [Float]) throws -> Double {
        let (a, b) = try normalisedPair(p, q)
        var s = 0.0
        for i in a.indices { let d = a[i].squareRoot() - b[i].squareRoot(); s += d * d }
        return (s / 2).squareRoot()
    }

    /// Kullback–Leibler divergence `KL(p‖q) = Σ p_i·log((p_i + ε) / (q_i + ε))` in nats, both first
    /// divided by their sums; ε (default 1e-10) keeps empty bins of q finite.
    public static func klDivergence(_ p: [Float], _ q: [Float], epsilon: Double = 1e-10) throws -> Double {
        let (a, b) = try normalisedPair(p, q)
        var s = 0.0
        for i in a.indices where a[i] > 0 { s += a[i] * Foundation.log((a[i] + epsilon) / (b[i] + epsilon)) }
        return s
    }

    /// HistoGAN's histogram loss exactly as the official code computes it for a batch of N histograms
    /// (flattened, N·3·bins·bins values each): `weight · (1/√2) · ‖√target − √generated‖₂ / N`, the
    /// norm taken over the whole batch. With the default weight α = 2 this is the generator's term.
    public static func histogramLoss(target: [Float], generated: [Float], batch: Int, weight: Double = lossWeight) throws -> Double {
        guard batch > 0, target.count == generated.count, target.count % batch == 0 else {
            throw HistogramDistanceError.mismatch("target \(target.count) and generated \(generated.count) values for batch \(batch)")
        }
        var s = 0.0
        for i in target.indices {
            let d = Double(target[i]).squareRoot() - Double(generated[i]).squareRoot()
            s += d * d
        }
        return weight * (s / 2).squareRoot() / Double(batch)
    }

    static func normalisedPair(_ p: [Float], _ q: [Float]) throws -> ([Double], [Double]) {
        guard p.count == q.count, !p.isEmpty else {
            throw HistogramDistanceError.mismatch("histograms of \(p.count) and \(q.count) bins")
        }
        guard p.allSatisfy({ $0 >= 0 && $0.isFinite }), q.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw HistogramDistanceError.mismatch("histograms must be finite and non-negative")
        }
        let sp = p.reduce(0.0) { $0 + Double($1) }, sq = q.reduce(0.0) { $0 + Double($1) }
        guard sp > 0, sq > 0 else { throw HistogramDistanceError.mismatch("a histogram is all zero") }
        return (p.map { Double($0) / sp }, q.map { Double($0) / sq })
    }
}

/// Inputs that no distance is defined for.
public enum HistogramDistanceError: Error, CustomStringConvertible, Equatable, Sendable {
    case mismatch(String)

    public var description: String {
        switch self { case let .mismatch(detail): return "histogram distance: \(detail)" }
    }
}

extension Tensor {
    /// HistoGAN's histogram loss on tensors `[N, 3, bins, bins]`:
    /// `weight · (1/√2) · sqrt(Σ (√target − √generated)²) / N` (the official definition; the norm runs
    /// over the whole batch), built from elementwise ops and a sum, so it is differentiable. A 1e-12 inside each
    /// square root keeps the gradient finite at empty bins (Gaussian/threshold kernels) and at identical
    /// histograms; it moves the value by less than 1e-6.
    public static func histogramLoss(target: Tensor, generated: Tensor,
                                     weight: Float = Float(HistogramDistance.lossWeight)) throws -> Tensor {
        guard target.shape == generated.shape, target.rank == 4, target.shape[1] == 3 else {
            throw EngineError.shapeMismatch(op: "histogramLoss", detail: "target \(target.shape), generated \(generated.shape)")
        }
        let difference = try (target + 1e-12).map(.sqrt) - (generated + 1e-12).map(.sqrt)
        let norm = try (difference.map(.square).sum() + 1e-12).map(.sqrt)
        return try norm * (weight / (Float(2).squareRoot() * Float(target.shape[0])))
    }
}
