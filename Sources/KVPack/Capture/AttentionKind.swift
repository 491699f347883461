/// How a layer attends: over every earlier token, or over a sliding window of recent tokens
/// (Gemma-3's local layers, Mistral-style SWA).
public enum AttentionKind: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Attends to every earlier token.
    case global
    /// Attends to the most recent `size` tokens, the query's own position included:
    /// key position `p` is visible to query position `t` when `t - size < p <= t`.
    case slidingWindow(size: Int)

    /// The window in tokens, or nil for global layers.
    public var windowSize: Int? {
        if case .slidingWindow(let size) = self { return size }
        return nil
    }

    public var description: String {
        switch self {
        case .global: return "global"
        case .slidingWindow(let size): return "sliding(\(size))"
        }
    }
}
