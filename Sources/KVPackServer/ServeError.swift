/// Why the server cannot start: a model, policy or setting it cannot use.
public enum ServeError: Error, CustomStringConvertible {
    /// The model file could not be loaded or run.
    case model(String)
    /// A policy spec the server was given does not parse or build.
    case policy(spec: String, reason: String)
    /// A setting out of range.
    case setting(name: String, value: String, expected: String)
    /// The page pool could not be made.
    case pool(String)

    public var description: String {
        switch self {
        case .model(let why): return "cannot serve the model: \(why)"
        case .policy(let spec, let why): return "policy '\(spec)': \(why)"
        case .setting(let name, let value, let expected): return "\(name) = \(value) is not usable: expected \(expected)"
        case .pool(let why): return "page pool: \(why)"
        }
    }
}
