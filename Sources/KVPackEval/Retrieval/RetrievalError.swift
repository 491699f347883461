import KVPackModel

/// Why a needle-retrieval evaluation cannot run. Every case is found before any result is
/// written.
public enum RetrievalError: Error, CustomStringConvertible {
    /// A count that must be positive is not (`what` names the option).
    case nonPositive(what: String, value: Int)
    /// An option's list is empty or has an entry that does not parse (`expected` says what does).
    case badList(option: String, entry: String, expected: String)
    /// A needle depth outside 0 ... 100 percent.
    case depthOutOfRange(Double)
    /// A context too short for the task's fixed text (instructions, needle, question) and the
    /// answer's tokens.
    case contextTooShort(context: Int, needed: Int)
    /// A context beyond the model's trained context (`*.context_length`).
    case beyondTrainedContext(context: Int, trained: Int, model: String)
    /// The filler text has no sentence to fill the haystack with.
    case noFiller(String)
    /// The model could not be loaded or run (unsupported architecture, a session that refused...).
    case model(ModelError)
    /// A text could not be tokenized or decoded.
    case tokenizer(TokenizerError)

    public var description: String {
        switch self {
        case .nonPositive(let what, let value):
            return "\(what) must be positive; got \(value)"
        case .badList(let option, let entry, let expected):
            return "\(option): '\(entry)' is not \(expected)"
        case .depthOutOfRange(let depth):
            return "needle depth \(depth.formatted) is outside 0...100 (percent of the filler text before the needle)"
        case .contextTooShort(let context, let needed):
            return """
                a context of \(context) tokens cannot hold the task: its instructions, needle and question with the answer's tokens \
                need at least \(needed) (plus filler): use --contexts of more tokens, or fewer --answer-tokens
                """
        case .beyondTrainedContext(let context, let trained, let model):
            return """
                a context of \(context) tokens is beyond the \(trained) tokens \(model) was trained on (its context_length): \
                leave it out of --contexts, or pass --force to run it anyway
                """
        case .noFiller(let file):
            return "the filler text \(file) has no sentence to fill the context with: give a --text of prose"
        case .model(let error):
            return "\(error)"
        case .tokenizer(let error):
            return "cannot tokenize the task: \(error)"
        }
    }
}

extension Double {
    /// `25`, `12.5`: a depth or share as the user wrote it, without trailing zeros.
    var formatted: String { String(format: "%g", self) }
}
