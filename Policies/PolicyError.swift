import KVPack

/// A policy spec or budget that cannot be honoured.
public enum PolicyError: Error, Equatable, CustomStringConvertible {
    case syntax(spec: String, column: Int, expected: String)
    case unknownPolicy(String, known: [String])
    case unknownArgument(policy: String, argument: String, known: [String])
    case badValue(policy: String, argument: String, value: String, expected: String)
    case layout(LayoutError)

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
        }
    }
}
