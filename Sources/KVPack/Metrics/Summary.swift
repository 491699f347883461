/// Mean, 95th percentile and maximum of a set of per-(layer, head, probe) values.
public struct Summary: Sendable, Hashable, Codable {
    public var count: Int
    public var mean: Double
    /// Linear interpolation between closest ranks (numpy's default `percentile` method):
    /// position `0.95 · (count − 1)` in the sorted values.
    public var p95: Double
    public var max: Double

    /// Summarizes `values`; an empty set gives count 0 and NaN statistics.
    public init<S: Sequence>(_ values: S) where S.Element == Double {
        let sorted = values.sorted()
        count = sorted.count
        guard !sorted.isEmpty else {
            mean = .nan; p95 = .nan; max = .nan
            return
        }
        mean = sorted.reduce(0, +) / Double(sorted.count)
        max = sorted.last!
        p95 = Summary.interpolated(sorted, 0.95)
    }

    /// The `q` quantile (0...1) of already sorted values, linear between closest ranks.
    /// - Throws: `MetricsError.invalidQuantile` for no values or `q` outside 0...1.
    public static func percentile(_ sorted: [Double], _ q: Double) throws(MetricsError) -> Double {
        guard !sorted.isEmpty, (0...1).contains(q) else { throw .invalidQuantile(q: q, count: sorted.count) }
        return interpolated(sorted, q)
    }

    /// `percentile` of values known to be non-empty, with `q` in 0...1.
    private static func interpolated(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}
