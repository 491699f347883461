/// Text to token ids and back, with a model's own vocabulary.
///
/// `GGUFTokenizer` (from `GGUFFile.tokenizer()`) is the implementation for GGUF vocabularies.
public protocol TextTokenizer: Sendable {
    /// Number of tokens in the vocabulary; ids run `0..<vocabularySize`.
    var vocabularySize: Int { get }
    /// The beginning-of-sequence token, when the vocabulary has one.
    var bosTokenID: Int? { get }
    /// The end-of-sequence token, when the vocabulary has one.
    var eosTokenID: Int? { get }
    /// Whether `encode` puts `bosTokenID` first (`tokenizer.ggml.add_bos_token`).
    var addsBOS: Bool { get }

    /// The token ids of `text` (with BOS first when `addsBOS`). Special-token names in the text
    /// (`<|im_start|>`) are text like any other, as in the capture tool.
    /// - Throws: `TokenizerError.noByteFallback` for a character the vocabulary cannot spell.
    func encode(_ text: String) throws(TokenizerError) -> [Int]

    /// The text of `ids`. Control tokens (BOS, EOS, padding: GGUF token type 3) are left out;
    /// bytes that do not form valid UTF-8 become U+FFFD.
    /// - Throws: `TokenizerError.invalidTokenID` for an id outside the vocabulary.
    func decode(_ ids: [Int]) throws(TokenizerError) -> String
}

extension GGUFFile {
    /// The tokenizer of this file's vocabulary: byte-level BPE for `tokenizer.ggml.model` `gpt2`
    /// (SmolLM2), SentencePiece-style BPE by scores for `llama` (Gemma-3).
    /// - Throws: `TokenizerError` when the vocabulary is missing, malformed or of another kind.
    public func tokenizer() throws(TokenizerError) -> GGUFTokenizer {
        try GGUFTokenizer(GGUFVocabulary(metadata))
    }
}
