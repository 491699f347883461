import KVPack

/// A policy spec or budget that cannot be honoured.
public enum PolicyError: Error, Equatable, CustomStringConvertible {
    case syntax(spec: String, column: Int, expected: String)
    case unknownPolicy(String, known: [String])
    case unknownArgument(policy: String, argument: String, known: [String])
    case badValue(policy: String, argument: String, value: String, expected: String)
    case layout(LayoutError)
    /// A byte budget below one f16 token per head.
    case budgetTooSmall(bytes: Int, minimum: Int)
    /// A budget the policy's own rules refuse (PagedEviction needs three blocks).
    case budgetOutOfRange(policy: String, reason: String)
    /// A stage left a head with a kept count its budget does not allow: the silent no-op (or
    /// over-eviction) that compression toolkits fail with most.
    case budgetNotMet(stage: String, sequence: Int, layer: Int, head: Int, kept: Int, expected: ClosedRange<Int>)
    /// A stage that scores with the observation window's queries, on a capture without them.
    case noWindowQueries(policy: String)
    /// A `window=` longer than the capture's window queries.
    case windowBeyondCapture(policy: String, window: Int, available: Int)
    /// A budget that leaves a head fewer tokens than an argument says it keeps (`window`, `sinks`).
    case budgetBelowArgument(policy: String, keep: String, kept: Int, argument: String, value: Int)
    /// An argument the stage would not use with the others given.
    case argumentUnused(policy: String, argument: String, reason: String)

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
        case .budgetTooSmall(let bytes, let minimum):
            return "a byte budget of \(bytes) B cannot hold one token per head; the smallest that can is \(minimum) B"
        case .budgetOutOfRange(let policy, let reason):
            return "\(policy): \(reason)"
        case .budgetNotMet(let stage, let s, let l, let h, let kept, let expected):
            let want = expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "\(expected.lowerBound)...\(expected.upperBound)"
            return "\(stage) kept \(kept) tokens in sequence \(s), layer \(l), head \(h) where its budget says \(want): the compression did not happen as specified (a bug; please report it with the spec)"
        case .noWindowQueries(let policy):
            return "\(policy) scores tokens with the capture's window queries (the prompt's last queries), and this capture has none (a decompressed cache keeps no queries): run it on the original capture, or use a policy that needs no queries (streaming, knorm, paged, random, quant, mustafar)"
        case .windowBeyondCapture(let policy, let window, let available):
            return "\(policy): window=\(window) needs \(window) window queries; the capture has \(available): use window=\(available) or less, or capture more (--window)"
        case .budgetBelowArgument(let policy, let keep, let kept, let argument, let value):
            return "\(policy): keep=\(keep) leaves a head \(kept) token\(kept == 1 ? "" : "s"), fewer than \(argument)=\(value), which it always keeps: raise keep or lower \(argument)"
        case .argumentUnused(let policy, let argument, let reason):
            return "\(policy): \(argument) is not used: \(reason)"
        }
    }
}
