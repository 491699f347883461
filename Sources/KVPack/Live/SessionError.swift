/// A live-session call that cannot be done. The session is left exactly as it was before the call.
public enum SessionError: Error, Equatable, CustomStringConvertible {
    public static func == (a: SessionError, b: SessionError) -> Bool { a.description == b.description }

    /// The session was closed; it holds no pages.
    case closed
    case layerOutOfRange(layer: Int, layers: Int)
    /// A tensor's shape does not fit the model: what it is, the shape expected, the one given.
    case wrongShape(what: String, expected: [Int], found: [Int])
    /// Positions must increase, within a call and past the layer's last position.
    case positionsNotIncreasing(layer: Int, position: Int, after: Int)
    /// A NaN or infinite key, value or query element.
    case nonFinite(what: String, token: Int)
    /// `prefill` after tokens were already stored in the layer.
    case alreadyPrefilled(layer: Int)
    /// `attend` on a layer that holds no token yet.
    case empty(layer: Int)
    case pool(PoolError)
    case attention(AttentionError)
    case layout(LayoutError)
    /// The session's policy refused: its error (a `PolicyError` for spec pipelines) or message.
    case policy(any Error & CustomStringConvertible)
    /// The device the session attends on failed (its error: a `VulkanError` for Vulkan).
    case device(any Error & CustomStringConvertible)
    /// A device call (a batched Vulkan attend) is reading the session's pages; calls that would
    /// change them wait for it to end (await it first).
    case busy
    /// The session appears more than once in one batched call.
    case repeatedInBatch

    public var description: String {
        switch self {
        case .closed: return "the session is closed"
        case .layerOutOfRange(let l, let n): return "layer \(l) is out of range: the model has \(n) layers"
        case .wrongShape(let what, let e, let f): return "\(what) must have shape \(e), found \(f)"
        case .positionsNotIncreasing(let l, let p, let a):
            return "layer \(l): position \(p) does not follow \(a); positions must be non-negative and strictly increasing"
        case .nonFinite(let what, let t): return "\(what) of token \(t) holds NaN or infinity"
        case .alreadyPrefilled(let l): return "layer \(l) already holds tokens; prefill must come first (use append for more tokens)"
        case .empty(let l): return "layer \(l) holds no tokens yet; prefill or append before attend"
        case .pool(let e): return e.description
        case .attention(let e): return e.description
        case .layout(let e): return e.description
        case .policy(let why): return why.description
        case .device(let why): return why.description
        case .busy: return "a device attend is reading this session's pages; await it before changing the session"
        case .repeatedInBatch: return "the session appears more than once in the batch; give each session at most one request per call"
        }
    }
}

/// A policy's refusal given as a message.
public struct SessionPolicyMessage: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
