/// Which keys each query may attend to, from absolute positions: key position `p` is visible to
/// query position `t` when `p <= t` (causal) and, for a sliding window of size `w`, `p > t - w`.
///
/// Key positions are strictly increasing, so each query sees one contiguous range of key indices.
public struct AttentionMask: Sendable, Equatable {
    /// Positions of the keys, `[tokens]`.
    public let keyPositions: [Int]
    /// Positions of the queries, `[queries]` (one per query token, shared by all heads).
    public let queryPositions: [Int]
    /// Sliding-window size in tokens, or nil for global attention.
    public let window: Int?

    /// - Throws: `AttentionError.invalidMask` when key positions are not strictly increasing or
    ///   the window is not positive.
    public init(keyPositions: [Int], queryPositions: [Int], window: Int? = nil) throws(AttentionError) {
        for i in keyPositions.indices.dropFirst() where keyPositions[i] <= keyPositions[i - 1] {
            throw .invalidMask("key positions must be strictly increasing (index \(i))")
        }
        if let w = window, w <= 0 { throw .invalidMask("window must be positive; got \(w)") }
        self.keyPositions = keyPositions
        self.queryPositions = queryPositions
        self.window = window
    }

    /// Indices of the keys visible to query `query`.
    /// - Complexity: O(log tokens).
    public func visibleKeys(query: Int) -> Range<Int> {
        let t = queryPositions[query]
        let hi = firstIndex(where: { $0 > t })
        let lo = window.map { w in firstIndex(where: { $0 > t - w }) } ?? 0
        return lo..<max(lo, hi)
    }

    private func firstIndex(where predicate: (Int) -> Bool) -> Int {
        var lo = 0, hi = keyPositions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if predicate(keyPositions[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
