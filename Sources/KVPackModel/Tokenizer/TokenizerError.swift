/// Why a tokenizer could not be built from a GGUF vocabulary, or could not encode or decode.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `tokenizer.ggml.model` names a tokenizer this library does not implement (it does `gpt2`, `llama`).
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a byte-level pre-tokenizer this library does not implement (it does `smollm`).
    case unsupportedPreTokenizer(String)
    /// The vocabulary's metadata is missing or of the wrong type.
    case metadata(GGUFError)
    /// The vocabulary is inconsistent (`reason` says how).
    case invalidVocabulary(String)
    /// A character that is neither in the vocabulary nor covered by `<0xNN>` byte tokens.
    case noByteFallback(Unicode.Scalar)
    /// A token id outside `0..<vocabularySize`.
    case invalidTokenID(Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .unsupportedModel(let m): return "tokenizer model '\(m)' is not supported (gpt2, llama)"
        case .unsupportedPreTokenizer(let p): return "byte-level pre-tokenizer '\(p)' is not supported (smollm)"
        case .metadata(let e): return "tokenizer vocabulary: \(e)"
        case .invalidVocabulary(let reason): return "tokenizer vocabulary: \(reason)"
        case .noByteFallback(let s):
            return "character U+\(String(s.value, radix: 16, uppercase: true)) is not in the vocabulary and has no byte fallback"
        case .invalidTokenID(let id, let size): return "token id \(id) is outside the vocabulary (0..<\(size))"
        }
    }
}
