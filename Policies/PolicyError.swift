import KVPack

/// A policy spec or budget that cannot be honoured.
public enum PolicyError: Error, Equatable, CustomStringConvertible {
    case syntax(spec: String, column: Int, expected: String)
    case unknownPolicy(String, known: [String])
    case unknownArgument(policy: String, argument: String, known: [String])
    case badValue(policy: String, argument: String, value: String, expected: String)
    case layout(LayoutError)
    /// A live session refused a call (shapes, positions, pool room).
    case session(SessionError)
    /// A byte budget below one f16 token per head.
    case budgetTooSmall(bytes: Int, minimum: Int)
    /// A budget the policy's own rules refuse (PagedEviction needs three blocks).
    case budgetOutOfRange(policy: String, reason: String)
    /// A stage left a head with a kept count its budget does not allow: the silent no-op (or
    /// over-eviction) that compression toolkits fail with most.
    case budgetNotMet(stage: String, sequence: Int, layer: Int, head: Int, kept: Int, expected: ClosedRange<Int>)

    public var description: String {
        switch self {
        case .syntax(let spec, let column, let expected):
            return "policy spec: expected \(expected) at column \(column + 1)\n  \(spec)\n  \(String(repeating: " ", count: column))^"
        case .unknownPolicy(let name, let known):
            return "unknown policy \"\(name)\"; known: \(known.joined(separator: ", "))"
        case .unknownArgument(let policy, let argument, let known):
            return "\(policy): unknown argument \"\(argument)\"; it takes \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .badValue(let policy, let argument, let value, let expected):
            return "\(policy): \(argument)=\(value) is invalid; expected \(expected)"
        case .layout(let e):
            return "compressed layout: \(e)"
        case .session(let e):
            return "session: \(e)"
        case .budgetTooSmall(let bytes, let minimum):
            return "a byte budget of \(bytes) B cannot hold one token per head; the smallest that can is \(minimum) B"
        case .budgetOutOfRange(let policy, let reason):
            return "\(policy): \(reason)"
        case .budgetNotMet(let stage, let s, let l, let h, let kept, let expected):
            let want = expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "\(expected.lowerBound)...\(expected.upperBound)"
            return "\(stage) kept \(kept) tokens in sequence \(s), layer \(l), head \(h) where its budget says \(want): the compression did not happen as specified (a bug; please report it with the spec)"
        }
    }
}
