/// Sampling settings a generation cannot use.
public enum GenerationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A temperature below 0 or not finite.
    case invalidTemperature(Double)
    /// A nucleus (`top_p`) outside (0, 1].
    case invalidTopP(Double)

    public var description: String {
        switch self {
        case .invalidTemperature(let t): return "temperature must be a finite number >= 0 (0: greedy); got \(t)"
        case .invalidTopP(let p): return "top_p must be in (0, 1]; got \(p)"
        }
    }
}
