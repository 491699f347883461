/// Metric inputs that do not fit together.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    /// Two vectors compared element by element have different lengths.
    case lengthMismatch(reference: Int, approximation: Int)
    /// A length to cut vectors into that is not positive or does not divide them.
    case invalidVectorLength(total: Int, length: Int)
    /// A kept index outside the probability row.
    case indexOutOfRange(index: Int, count: Int)
    /// A profile asked of an attention result computed without its probabilities.
    case noProbabilities
    /// Positions that do not match the result's keys or queries.
    case positionCountMismatch(name: String, expected: Int, found: Int)
    /// A quantile of no values, or outside 0...1.
    case invalidQuantile(q: Double, count: Int)

    public var description: String {
        switch self {
        case .lengthMismatch(let r, let a):
            return "the reference has \(r) elements but the approximation has \(a): compare vectors of one length"
        case .invalidVectorLength(let total, let length):
            return "\(total) elements cannot be cut into vectors of \(length): the length must be positive and divide the total"
        case .indexOutOfRange(let index, let count):
            return "kept index \(index) is outside the probability row of \(count) tokens"
        case .noProbabilities:
            return "an attention profile needs the attention probabilities: compute the attention with probabilities kept"
        case .positionCountMismatch(let name, let expected, let found):
            return "\(name): the attention result has \(expected) but \(found) positions were given"
        case .invalidQuantile(let q, let count):
            return count == 0 ? "a quantile of no values is undefined" : "quantile \(q) is outside 0...1"
        }
    }
}
