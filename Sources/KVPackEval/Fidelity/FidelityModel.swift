import KVPackModel

/// A GGUF model ready for a fidelity evaluation: its forward pass, its tokenizer, and the context
/// it was trained on.
public struct FidelityModel: Sendable {
    public let model: LanguageModel
    public let tokenizer: GGUFTokenizer
    /// `<architecture>.context_length` from the file's metadata; nil when the file has none.
    public let trainedContext: Int?

    /// Loads the model, its tokenizer and trained context from `file`.
    /// - Throws: `FidelityError.model` (an unsupported architecture or tensor type, a malformed
    ///   file), `.tokenizer` (a vocabulary the tokenizers do not know).
    public init(file: GGUFFile) throws(FidelityError) {
        do throws(ModelError) { model = try LanguageModel(file: file) } catch { throw .model(error) }
        do throws(TokenizerError) { tokenizer = try file.tokenizer() } catch { throw .tokenizer(error) }
        let architecture = model.hyperparameters.architecture.rawValue
        trainedContext = (try? file.metadata.value("\(architecture).context_length", as: Int.self)) ?? nil
    }

    /// `text`'s token ids (BOS first when the tokenizer adds one).
    public func tokenize(_ text: String) throws(FidelityError) -> [Int] {
        do throws(TokenizerError) { return try tokenizer.encode(text) } catch { throw .tokenizer(error) }
    }

    /// The BOS id every chunk starts with, nil when the tokenizer adds none.
    public var chunkStart: Int? { tokenizer.addsBOS ? tokenizer.bosTokenID : nil }
}
