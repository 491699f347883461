/// How much a stage keeps. One name everywhere: `keep`, what stays, never what is removed.
public enum Budget: Sendable, Hashable, CustomStringConvertible {
    /// A share of each head's tokens in (0, 1]: `keep=0.25` (written with a decimal point).
    case fraction(Double)
    /// A token count per head, >= 1: `keep=512` (written as an integer).
    case tokens(Int)
    /// Bytes of the whole compressed cache (every sequence, layer and head, by the layout's exact
    /// accounting of f16 pages): `keep=4MiB`, `keep=1.5MB`, `keep=300000B`. The policy gives
    /// every head the same token count, then one more token to heads in order while it fits.
    case bytes(Int)

    /// Tokens to keep out of `available` for a share or a count (at least 1 when
    /// `available > 0`, never more than it). Byte budgets are resolved over the whole cache by
    /// `CompressionPlan.allocate`; here they keep everything.
    public func count(of available: Int) -> Int {
        guard available > 0 else { return 0 }
        switch self {
        case .fraction(let f): return min(available, max(1, Int((f * Double(available)).rounded(.down))))
        case .tokens(let n): return min(available, n)
        case .bytes: return available
        }
    }

    public var description: String {
        switch self {
        case .fraction(let f): return String(f)
        case .tokens(let n): return String(n)
        case .bytes(let b): return "\(b)B"
        }
    }

    static let expected = "a share in (0, 1] like 0.25, a token count per head like 512, or a cache size like 4MiB"

    static let byteUnits: [(String, Double)] = [
        ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3), ("KB", 1e3), ("B", 1),
    ]

    /// Parses `0.25` (share in (0, 1]), `512` (count >= 1) or a byte size with a unit
    /// (`B`, `kB`, `MB`, `GB`, `KiB`, `MiB`, `GiB`).
    public init?(_ text: String) {
        if let (unit, scale) = Budget.byteUnits.first(where: { text.hasSuffix($0.0) }) {
            guard let x = Double(text.dropLast(unit.count)), x.isFinite, x > 0 else { return nil }
            let bytes = (x * scale).rounded(.down)
            guard bytes >= 1, bytes < 1e18 else { return nil }
            self = .bytes(Int(bytes))
        } else if text.contains(".") {
            guard let f = Double(text), f > 0, f <= 1 else { return nil }
            self = .fraction(f)
        } else {
            guard let n = Int(text), n >= 1 else { return nil }
            self = .tokens(n)
        }
    }
}
