import KVPack
import KVPackModel

/// The model a server generates with: the forward pass, its tokenizer, its chat template (or why
/// chat is unsupported), the tokens that end a sequence and the context it may use.
public struct ServedModel: Sendable {
    /// The name responses carry (`model` in the JSON).
    public let name: String
    public let model: LanguageModel
    public let tokenizer: GGUFTokenizer
    /// The chat template, or why `/v1/chat/completions` is refused for this model.
    public let chat: Result<ChatTemplate, ChatTemplateError>
    /// Most positions a sequence may reach (prompt + generated tokens).
    public let contextLength: Int
    /// Tokens that end every generation (the vocabulary's EOS, and `tokenizer.ggml.eot_token_id`).
    public let endOfSequence: Set<Int>

    /// Loads the model in `file`.
    /// - Parameters:
    ///   - name: what responses call the model.
    ///   - contextLength: positions allowed per sequence; nil: the model's trained context
    ///     (`<architecture>.context_length`, 4096 when the file has none).
    /// - Throws: `ServeError.model` (unsupported architecture or tensor type, a vocabulary the
    ///   tokenizers do not know), `.setting` for a non-positive context.
    public init(file: GGUFFile, name: String, contextLength: Int? = nil) throws(ServeError) {
        do throws(ModelError) { model = try LanguageModel(file: file) } catch { throw .model(error.description) }
        do throws(TokenizerError) { tokenizer = try file.tokenizer() } catch { throw .model(error.description) }
        self.name = name
        let tokenizer = tokenizer
        chat = Result { () throws(ChatTemplateError) in try ChatTemplate(file: file, tokenizer: tokenizer) }
        let architecture = model.hyperparameters.architecture.rawValue
        let trained = ((try? file.metadata.value("\(architecture).context_length", as: Int.self)) ?? nil) ?? 4096
        if let c = contextLength, c <= 0 { throw .setting(name: "context", value: "\(c)", expected: "a positive number of tokens") }
        self.contextLength = contextLength ?? trained
        var ends = Set<Int>()
        if let eos = tokenizer.eosTokenID { ends.insert(eos) }
        if let eot = (try? file.metadata.value("tokenizer.ggml.eot_token_id", as: Int.self)) ?? nil, eot >= 0, eot < tokenizer.vocabularySize {
            ends.insert(eot)
        }
        endOfSequence = ends
    }
}
