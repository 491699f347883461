import CKVPackHalf
import Dispatch
import Foundation

/// Softmax attention rows of a few queries over many keys, kept whole: the observation-window
/// scores that SnapKV-style policies vote with. A register-blocked product (not a dot loop per
/// row), split over cores by key blocks, then a masked fp32 softmax per row.
public enum WindowProbabilities {
    /// The largest head dim the register-blocked product takes.
    public static let maxHeadDim = 512

    /// Probabilities `[queries.heads × queries.tokens, keyCount]` (query heads outer), or nil when
    /// a query sees no key.
    /// - Parameters:
    ///   - keys: `keyCount` f16 rows of `queries.headDim`, contiguous.
    ///   - queries: `[heads, tokens, headDim]`; every head attends to the same keys.
    ///   - keyPositions: the keys' positions, for the causal (and sliding-window) mask.
    ///   - queryPositions: the query tokens' positions, for the same mask.
    ///   - window: sliding-window size, or nil for causal masking only.
    ///   - scale: default `1 / sqrt(headDim)`.
    /// - Throws: `AttentionError` when `keys` is not `keyPositions.count` rows of the queries' head
    ///   dim, the query positions do not match the query tokens, or the head dim exceeds
    ///   `maxHeadDim`.
    public static func compute(keys: [Float16], queries: HeadTensor<Float>, keyPositions: [Int], queryPositions: [Int],
                               window: Int? = nil, scale: Float? = nil) throws(AttentionError) -> [Float]? {
        try compute(keys: keys, queries: queries, keyPositions: keyPositions, queryPositions: queryPositions, window: window, scale: scale,
                cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// `compute` split over at most `cores` parts (tests pass more than this machine has).
    static func compute(keys: [Float16], queries: HeadTensor<Float>, keyPositions: [Int], queryPositions: [Int],
                        window: Int?, scale: Float?, cores: Int) throws(AttentionError) -> [Float]? {
        let d = queries.headDim, n = keyPositions.count, m = queries.heads * queries.tokens
        guard keys.count == n * d else { throw .wrongShape(name: "keys", expected: [n, d], found: [keys.count / max(d, 1), d]) }
        guard queryPositions.count == queries.tokens else {
            throw .wrongShape(name: "query positions", expected: [queries.tokens], found: [queryPositions.count])
        }
        guard d <= maxHeadDim else { throw .headDimTooLarge(d, limit: maxHeadDim) }
        guard n > 0, m > 0 else { return m == 0 ? [] : nil }
        let mask = try? AttentionMask(keyPositions: keyPositions, queryPositions: queryPositions, window: window)
        guard let mask else { return nil }
        let ranges = (0..<queries.tokens).map { mask.visibleKeys(query: $0) }
        guard ranges.allSatisfy({ !$0.isEmpty }) else { return nil }
        var out = [Float](repeating: 0, count: m * n)
        let s = scale ?? 1 / Float(d).squareRoot()
        let parts = max(1, min(cores, n / 256))
        let per = ((n + parts - 1) / parts + 15) / 16 * 16
        out.withUnsafeMutableBufferPointer { o in
            keys.withUnsafeBufferPointer { k in
                queries.withUnsafeBufferPointer { q in
                    let ko = _SharedReads(base: k.baseAddress!), qo = _SharedReads(base: q.baseAddress!)
                    let oo = _DisjointWrites(base: o.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: parts) { p in
                        let start = p * per, count = min(n, start + per) - start
                        guard count > 0 else { return }
                        UnsafeRawPointer(ko.base).withMemoryRebound(to: UInt16.self, capacity: n * d) { kb in
                            kvp_window_scores(kb + start * d, count, d, qo.base, m, s, oo.base + start, n)
                        }
                    }
                }
            }
        }
        out.withUnsafeMutableBufferPointer { o in
            let oo = _DisjointWrites(base: o.baseAddress!)
            let rowsPer = (m + parts - 1) / parts
            DispatchQueue.concurrentPerform(iterations: parts) { p in
                // With more parts than rows a part may start past the last row.
                for row in min(m, p * rowsPer)..<min(m, (p + 1) * rowsPer) {
                    let visible = ranges[row % queries.tokens]
                    let base = oo.base + row * n
                    for j in 0..<visible.lowerBound { base[j] = -.infinity }
                    for j in visible.upperBound..<n { base[j] = -.infinity }
                    kvp_softmax_inplace(base, n)
                }
            }
        }
        return out
    }
}
