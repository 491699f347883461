import Foundation

/// How one layer's dense attention is spread, averaged over query heads and queries: the
/// statistics that decide which compression policies can work (sinks, locality, sparsity).
public struct AttentionProfile: Sendable, Hashable, Codable {
    /// Mean Shannon entropy of the attention rows, in nats.
    public var entropy: Double
    /// Mean share of attention on the first `sinkTokens` cached tokens.
    public var sinkMass: Double
    /// Mean share of attention on keys within `recentWindow` positions of the query.
    public var recentMass: Double
    /// Mean share of attention on each row's top 1% of visible keys (at least one key).
    public var top1PercentMass: Double
    /// Rows (query head x query) averaged.
    public var rows: Int

    public static let sinkTokens = 4
    public static let recentWindow = 64

    /// Profiles `result` (which must hold probabilities) whose keys sit at `keyPositions`
    /// (one per key) and queries at `queryPositions` (one per query token).
    /// - Throws: `MetricsError.noProbabilities`, or `.positionCountMismatch` for positions that
    ///   do not match the result.
    public init(_ result: AttentionResult, keyPositions: [Int], queryPositions: [Int]) throws(MetricsError) {
        guard result.probabilities != nil else { throw .noProbabilities }
        guard queryPositions.count == result.output.tokens else {
            throw .positionCountMismatch(name: "query positions", expected: result.output.tokens, found: queryPositions.count)
        }
        guard keyPositions.count == result.tokens else {
            throw .positionCountMismatch(name: "key positions", expected: result.tokens, found: keyPositions.count)
        }
        var entropy = 0.0, sink = 0.0, recent = 0.0, top = 0.0, rows = 0
        let sinkCount = min(Self.sinkTokens, keyPositions.count)
        for head in 0..<result.output.heads {
            for q in 0..<result.output.tokens {
                let row = result.probabilityRow(head: head, query: q)!
                let base = row.startIndex
                let qp = queryPositions[q]
                var h = 0.0, s = 0.0, r = 0.0
                var visible: [Float] = []
                for j in 0..<row.count {
                    let p = row[base + j]
                    if keyPositions[j] <= qp { visible.append(p) }
                    guard p > 0 else { continue }
                    h -= Double(p) * log(Double(p))
                    if j < sinkCount { s += Double(p) }
                    if keyPositions[j] > qp - Self.recentWindow { r += Double(p) }
                }
                visible.sort(by: >)
                let k = max(1, Int((Double(visible.count) * 0.01).rounded(.up)))
                top += visible.prefix(k).reduce(0.0) { $0 + Double($1) }
                entropy += h; sink += s; recent += r; rows += 1
            }
        }
        let n = Double(max(rows, 1))
        self.entropy = entropy / n
        self.sinkMass = sink / n
        self.recentMass = recent / n
        self.top1PercentMass = top / n
        self.rows = rows
    }
}
