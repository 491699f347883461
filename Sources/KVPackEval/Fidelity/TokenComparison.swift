import Foundation

/// One continuation position compared between the dense and the compressed run: the two
/// next-token distributions and the reference (actual next) token.
public struct TokenComparison: Sendable, Hashable {
    /// `KL(P_dense ‖ P_compressed) = Σ_v p_dense(v) (log p_dense(v) − log p_compressed(v))`, nats.
    public var klDivergence: Double
    /// The most likely token of each run (the lowest id among equal logits).
    public var denseTop1: Int
    public var compressedTop1: Int
    /// `log p(reference)` under each run, nats.
    public var denseLogProbability: Double
    public var compressedLogProbability: Double

    public var sameTop1: Bool { denseTop1 == compressedTop1 }
    /// `p_compressed(reference) − p_dense(reference)`, a probability in [−1, 1].
    public var deltaProbability: Double { exp(compressedLogProbability) - exp(denseLogProbability) }

    /// A comparison from its parts (a stored report's positions, or a test's).
    public init(klDivergence: Double, denseTop1: Int, compressedTop1: Int, denseLogProbability: Double, compressedLogProbability: Double) {
        self.klDivergence = klDivergence
        self.denseTop1 = denseTop1
        self.compressedTop1 = compressedTop1
        self.denseLogProbability = denseLogProbability
        self.compressedLogProbability = compressedLogProbability
    }

    /// Compares two logit rows of one vocabulary, accumulating in Double.
    /// - Parameters:
    ///   - dense: the dense run's logits, `[vocabulary]`.
    ///   - compressed: the compressed run's logits, `[vocabulary]` (same count as `dense`).
    ///   - reference: the token that actually comes next, in `0 ..< vocabulary`.
    /// Identical rows give a divergence of exactly 0.
    public init(dense: UnsafeBufferPointer<Float>, compressed: UnsafeBufferPointer<Float>, reference: Int) {
        let lseDense = Self.logSumExp(dense), lseCompressed = Self.logSumExp(compressed)
        var kld = 0.0
        for v in 0..<dense.count {
            let lpDense = Double(dense[v]) - lseDense, lpCompressed = Double(compressed[v]) - lseCompressed
            kld += exp(lpDense) * (lpDense - lpCompressed)
        }
        klDivergence = kld
        denseTop1 = Self.argmax(dense)
        compressedTop1 = Self.argmax(compressed)
        denseLogProbability = Double(dense[reference]) - lseDense
        compressedLogProbability = Double(compressed[reference]) - lseCompressed
    }

    /// `log Σ exp(x)`: the maximum, plus the log of the shifted exponentials' sum in Double.
    static func logSumExp(_ x: UnsafeBufferPointer<Float>) -> Double {
        let m = x.max() ?? 0
        var sum = 0.0
        for v in x { sum += exp(Double(v - m)) }
        return Double(m) + log(sum)
    }

    /// Index of the largest value, the lowest among equals.
    static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<x.count where x[i] > x[best] { best = i }
        return best
    }
}
