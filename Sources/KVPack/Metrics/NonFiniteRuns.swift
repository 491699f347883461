/// The non-finite elements of one vector of outputs: which vector, and its runs of NaN or
/// infinite elements.
public struct NonFiniteVector: Sendable, Equatable {
    /// Index of the vector (`values[vector * length ..< (vector + 1) * length]`).
    public var vector: Int
    /// Maximal runs of consecutive non-finite element indices within the vector, ascending.
    public var runs: [Range<Int>]

    public init(vector: Int, runs: [Range<Int>]) {
        self.vector = vector
        self.runs = runs
    }
}

extension AttentionMetrics {
    /// Where `values` (consecutive vectors of `length` elements, e.g. attention outputs
    /// `[sequences, queryHeads, headDim]`) is NaN or infinite: each vector that has any, in order,
    /// with its runs of non-finite elements (a GPU kernel's bug shows as a pattern: whole vectors,
    /// one lane's elements, one tile's columns). Empty when all are finite, or `length` is not
    /// positive. A trailing partial vector counts as a shorter vector.
    public static func nonFiniteRuns(_ values: [Float], length: Int) -> [NonFiniteVector] {
        guard length > 0 else { return [] }
        var found: [NonFiniteVector] = []
        for start in stride(from: 0, to: values.count, by: length) {
            var runs: [Range<Int>] = []
            for e in 0..<min(length, values.count - start) where !values[start + e].isFinite {
                if let last = runs.last, last.upperBound == e {
                    runs[runs.count - 1] = last.lowerBound..<(e + 1)
                } else {
                    runs.append(e..<(e + 1))
                }
            }
            if !runs.isEmpty { found.append(NonFiniteVector(vector: start / length, runs: runs)) }
        }
        return found
    }
}
