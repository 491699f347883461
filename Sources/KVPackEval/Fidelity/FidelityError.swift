import KVPackModel

/// Why a next-token fidelity evaluation cannot run. Every case is found before any result is
/// written.
public enum FidelityError: Error, CustomStringConvertible {
    /// A count that must be positive is not (`what` names the option).
    case nonPositive(what: String, value: Int)
    /// The text has fewer tokens than the chunks need.
    case textTooShort(tokens: Int, needed: Int, chunks: Int, context: Int, continuation: Int)
    /// Context plus continuation reach past the model's trained context (`*.context_length`).
    case beyondTrainedContext(positions: Int, trained: Int, model: String)
    /// The model could not be loaded or run (unsupported architecture, a session that refused...).
    case model(ModelError)
    /// The text could not be tokenized.
    case tokenizer(TokenizerError)

    public var description: String {
        switch self {
        case .nonPositive(let what, let value):
            return "\(what) must be positive; got \(value)"
        case .textTooShort(let tokens, let needed, let chunks, let context, let continuation):
            return """
                the text has \(tokens) tokens; \(chunks) chunk\(chunks == 1 ? "" : "s") of \(context) context + \(continuation) \
                continuation tokens need \(needed) (the token after each chunk is its last prediction's reference): \
                use a longer text, or fewer --chunks, or a shorter --context / --continuation
                """
        case .beyondTrainedContext(let positions, let trained, let model):
            return """
                context + continuation = \(positions) positions, beyond the \(trained) tokens \(model) was trained on \
                (its context_length): shorten --context or --continuation, or pass --force to run it anyway
                """
        case .model(let error):
            return "\(error)"
        case .tokenizer(let error):
            return "cannot tokenize the text: \(error)"
        }
    }
}
