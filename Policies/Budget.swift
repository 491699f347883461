/// How many tokens a head keeps. One name everywhere: `keep`, the share (or count) of tokens
/// that stays, never the share removed.
public enum Budget: Sendable, Hashable, CustomStringConvertible {
    /// A share of the tokens in (0, 1]: `keep=0.25` (written with a decimal point).
    case fraction(Double)
    /// A token count >= 1: `keep=512` (written as an integer).
    case tokens(Int)

    /// Tokens to keep out of `available` (at least 1 when `available > 0`, never more than it).
    public func count(of available: Int) -> Int {
        guard available > 0 else { return 0 }
        switch self {
        case .fraction(let f): return min(available, max(1, Int((f * Double(available)).rounded(.down))))
        case .tokens(let n): return min(available, n)
        }
    }

    public var description: String {
        switch self {
        case .fraction(let f): return String(f)
        case .tokens(let n): return String(n)
        }
    }

    /// Parses `0.25` (fraction in (0, 1]) or `512` (count >= 1).
    public init?(_ text: String) {
        if text.contains(".") {
            guard let f = Double(text), f > 0, f <= 1 else { return nil }
            self = .fraction(f)
        } else {
            guard let n = Int(text), n >= 1 else { return nil }
            self = .tokens(n)
        }
    }
}
