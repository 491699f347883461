/// Accuracy of an approximate attention against the dense reference, per query head and query.
///
/// Conventions for degenerate inputs (documented because reports must not show NaN):
/// - relative L2 of a zero reference is 0 when the approximation is also zero, else +infinity;
/// - cosine similarity involving a zero vector is 1 when both are zero, else 0.
public enum AttentionMetrics {
    /// ‖reference − approximation‖₂ / ‖reference‖₂, accumulated in Double.
    /// - Throws: `MetricsError.lengthMismatch` when the lengths differ.
    public static func relativeL2<C: Collection, D: Collection>(reference: C, approximation: D) throws(MetricsError) -> Double
    where C.Element == Float, D.Element == Float {
        guard reference.count == approximation.count else {
            throw .lengthMismatch(reference: reference.count, approximation: approximation.count)
        }
        var diff = 0.0, norm = 0.0
        for (a, b) in zip(reference, approximation) {
            let e = Double(a) - Double(b)
            diff += e * e
            norm += Double(a) * Double(a)
        }
        if norm == 0 { return diff == 0 ? 0 : .infinity }
        return (diff / norm).squareRoot()
    }

    /// The largest `relativeL2` of the consecutive vectors of `length` elements (e.g. the
    /// `[heads, headDim]` rows of attention outputs); +infinity when a vector's error is NaN (a
    /// NaN output must fail any bound, where `max` would drop it).
    /// - Throws: `MetricsError` when the lengths differ or are not a multiple of `length` (> 0).
    public static func worstRelativeL2(reference: [Float], approximation: [Float], length: Int) throws(MetricsError) -> Double {
        guard reference.count == approximation.count else {
            throw .lengthMismatch(reference: reference.count, approximation: approximation.count)
        }
        guard length > 0, reference.count % length == 0 else { throw .invalidVectorLength(total: reference.count, length: length) }
        var worst = 0.0
        for start in stride(from: 0, to: reference.count, by: length) {
            let error = try relativeL2(reference: reference[start..<start + length], approximation: approximation[start..<start + length])
            if error.isNaN { return .infinity }
            worst = max(worst, error)
        }
        return worst
    }

    /// cos(reference, approximation), accumulated in Double.
    /// - Throws: `MetricsError.lengthMismatch` when the lengths differ.
    public static func cosineSimilarity<C: Collection, D: Collection>(_ reference: C, _ approximation: D) throws(MetricsError) -> Double
    where C.Element == Float, D.Element == Float {
        guard reference.count == approximation.count else {
            throw .lengthMismatch(reference: reference.count, approximation: approximation.count)
        }
        var dot = 0.0, na = 0.0, nb = 0.0
        for (a, b) in zip(reference, approximation) {
            dot += Double(a) * Double(b)
            na += Double(a) * Double(a)
            nb += Double(b) * Double(b)
        }
        if na == 0 || nb == 0 { return na == nb ? 1 : 0 }
        return min(1, max(-1, dot / (na * nb).squareRoot()))
    }

    /// Share of the dense softmax mass that falls on the kept tokens: Σ_{j kept} p_j.
    /// Its complement `1 − recall` is the mass lost on evicted tokens (for pure eviction it
    /// equals the total-variation distance between dense and compressed attention).
    /// - Parameters:
    ///   - probabilities: the dense softmax row over all tokens (sums to 1).
    ///   - kept: indices (from 0) into `probabilities` of the tokens a policy kept.
    /// - Throws: `MetricsError.indexOutOfRange` for a kept index outside the row.
    public static func massRecall<C: RandomAccessCollection>(probabilities: C, kept: some Sequence<Int>) throws(MetricsError) -> Double
    where C.Element == Float, C.Index == Int {
        var mass = 0.0
        var seen = Set<Int>()
        for j in kept where seen.insert(j).inserted {
            guard j >= 0, j < probabilities.count else { throw .indexOutOfRange(index: j, count: probabilities.count) }
            mass += Double(probabilities[probabilities.startIndex + j])
        }
        return mass
    }

    /// Indices of the `k` largest probabilities, largest first; ties go to the lower index, NaN
    /// ranks lowest (`topIndices`: a partial selection, not a sort of the row).
    public static func topK<C: RandomAccessCollection>(_ probabilities: C, k: Int) -> [Int]
    where C.Element == Float, C.Index == Int {
        probabilities.withContiguousStorageIfAvailable { topIndices($0, count: k) } ?? topIndices(Array(probabilities), count: k)
    }

    /// |top-k of the dense attention ∩ kept| / k, with k capped at the number of tokens and ties
    /// in the top-k broken by lower index. 1 when k (after capping) is 0.
    public static func topKRecall<C: RandomAccessCollection>(probabilities: C, kept: some Sequence<Int>, k: Int) -> Double
    where C.Element == Float, C.Index == Int {
        let top = topK(probabilities, k: k)
        guard !top.isEmpty else { return 1 }
        let keptSet = Set(kept)
        return Double(top.filter { keptSet.contains($0) }.count) / Double(top.count)
    }
}
