import KVPack

/// A policy spec or budget that cannot be honoured.
public enum PolicyError: Error, Equatable, CustomStringConvertible {
    case syntax(spec: String, column: Int, expected: String)
    case unknownPolicy(String, known: [String])
    /// `column`: where the argument's key stands in the spec text (0-based), when it came from one.
    case unknownArgument(policy: String, argument: String, known: [String], column: Int? = nil)
    /// `column`: where the value stands in the spec text (0-based; a missing argument: the
    /// stage's name), when it came from one.
    case badValue(policy: String, argument: String, value: String, expected: String, column: Int? = nil)
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
        case .unknownArgument(let policy, let argument, let known, let column):
            return "\(policy): unknown argument \"\(argument)\"\(Self.at(column)); it takes \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .badValue(let policy, let argument, let value, let expected, let column):
            return "\(policy): \(argument)=\(value) is invalid\(Self.at(column)); expected \(expected)"
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

    /// " at column N" (1-based, as `syntax` prints it), or nothing.
    static func at(_ column: Int?) -> String { column.map { " at column \($0 + 1)" } ?? "" }

    /// This error with the column of its argument in `stage` filled in (a stage's factory throws
    /// without one: it sees values, not the text).
    func located(in stage: PolicySpec.Stage) -> PolicyError {
        switch self {
        case .badValue(let policy, let argument, let value, let expected, nil) where policy == stage.name:
            let column = stage.arguments.first { $0.key == argument }?.column ?? stage.column
            return .badValue(policy: policy, argument: argument, value: value, expected: expected, column: column)
        case .unknownArgument(let policy, let argument, let known, nil) where policy == stage.name:
            let column = stage.arguments.first { $0.key == argument }?.keyColumn ?? stage.column
            return .unknownArgument(policy: policy, argument: argument, known: known, column: column)
        default:
            return self
        }
    }
}
