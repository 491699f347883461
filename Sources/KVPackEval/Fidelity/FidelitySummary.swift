import Foundation

/// What `llama-perplexity --kl-divergence` reports, over the compared positions of one run:
/// the KL divergence's distribution, how often the most likely token is the same, how the
/// reference token's probability moves, and the perplexity of the reference tokens under both.
///
/// Standard errors are of the mean (sample standard deviation / √n); the median and p99 are
/// linear interpolations between order statistics (numpy's default).
public struct FidelitySummary: Sendable, Hashable, Codable {
    /// Compared positions (continuation tokens × chunks).
    public var positions: Int
    /// KL divergence of the next-token distributions, nats.
    public var meanKLD: Double
    public var meanKLDStandardError: Double
    public var medianKLD: Double
    public var p99KLD: Double
    public var maxKLD: Double
    /// Share of positions where both runs' most likely token is the same, in [0, 1], ± its
    /// standard error.
    public var sameTop1: Double
    public var sameTop1StandardError: Double
    /// Mean of `p_compressed(reference) − p_dense(reference)` (probability units), ± standard error.
    public var meanDeltaProbability: Double
    public var meanDeltaProbabilityStandardError: Double
    /// `exp(−mean log p(reference))` of each run.
    public var densePerplexity: Double
    public var compressedPerplexity: Double
    /// `compressedPerplexity / densePerplexity`.
    public var perplexityRatio: Double
    /// Mean of `log p_dense(reference) − log p_compressed(reference)` (`ln` of the perplexity
    /// ratio) and its standard error.
    public var logPerplexityRatio: Double
    public var logPerplexityRatioStandardError: Double

    /// Summarizes `comparisons` (at least one).
    public init(_ comparisons: [TokenComparison]) {
        let n = comparisons.count
        positions = n
        let klds = comparisons.map(\.klDivergence)
        (meanKLD, meanKLDStandardError) = Self.meanAndStandardError(klds)
        let sorted = klds.sorted()
        medianKLD = Self.quantile(sorted, 0.5)
        p99KLD = Self.quantile(sorted, 0.99)
        maxKLD = sorted.last ?? 0
        (sameTop1, sameTop1StandardError) = Self.meanAndStandardError(comparisons.map { $0.sameTop1 ? 1 : 0 })
        (meanDeltaProbability, meanDeltaProbabilityStandardError) = Self.meanAndStandardError(comparisons.map(\.deltaProbability))
        let denseMean = comparisons.reduce(0) { $0 + $1.denseLogProbability } / Double(max(1, n))
        let compressedMean = comparisons.reduce(0) { $0 + $1.compressedLogProbability } / Double(max(1, n))
        densePerplexity = exp(-denseMean)
        compressedPerplexity = exp(-compressedMean)
        (logPerplexityRatio, logPerplexityRatioStandardError) =
            Self.meanAndStandardError(comparisons.map { $0.denseLogProbability - $0.compressedLogProbability })
        perplexityRatio = exp(logPerplexityRatio)
    }

    /// Mean and standard error of the mean (0 for fewer than two values).
    static func meanAndStandardError(_ x: [Double]) -> (Double, Double) {
        guard !x.isEmpty else { return (0, 0) }
        let mean = x.reduce(0, +) / Double(x.count)
        guard x.count > 1 else { return (mean, 0) }
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count - 1)
        return (mean, (variance / Double(x.count)).squareRoot())
    }

    /// The `q` quantile of ascending `sorted`, interpolated linearly between order statistics.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let r = q * Double(sorted.count - 1), i = Int(r.rounded(.down))
        guard i + 1 < sorted.count else { return sorted[sorted.count - 1] }
        return sorted[i] + (r - Double(i)) * (sorted[i + 1] - sorted[i])
    }
}
