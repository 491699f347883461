/// The tokenizer of a GGUF file's vocabulary (`tokenizer.ggml.*`), built by `GGUFFile.tokenizer()`:
/// byte-level BPE for `tokenizer.ggml.model` = `gpt2` (SmolLM2), SentencePiece-style BPE by
/// scores for `llama` (Gemma-3). It encodes exactly as KVPack's capture tool does
/// (`Tools/capture/kvcapture/tokenizer.py`), so its ids match the shipped captures'.
/// ```swift
/// let tokenizer = try file.tokenizer()
/// let ids = try tokenizer.encode(text)        // [BOS] + ids when the vocabulary adds BOS
/// let back = try tokenizer.decode(ids)        // == text (control tokens are left out)
/// ```
public struct GGUFTokenizer: TextTokenizer {
    private enum Algorithm: Sendable {
        case byteLevelBPE(ByteLevelBPE)
        case sentencePiece(SentencePieceBPE)
    }

    private let vocabulary: GGUFVocabulary
    private let algorithm: Algorithm

    init(_ vocabulary: GGUFVocabulary) throws(TokenizerError) {
        self.vocabulary = vocabulary
        switch vocabulary.model {
        case "gpt2": algorithm = .byteLevelBPE(try ByteLevelBPE(vocabulary))
        case "llama": algorithm = .sentencePiece(try SentencePieceBPE(vocabulary))
        default: throw .unsupportedModel(vocabulary.model)
        }
    }

    public var vocabularySize: Int { vocabulary.tokens.count }
    public var bosTokenID: Int? { vocabulary.bos }
    public var eosTokenID: Int? { vocabulary.eos }
    public var addsBOS: Bool { vocabulary.addBOS && vocabulary.bos != nil }

    /// The text of token `id` as the vocabulary lists it (`Ġthe`, `▁world`, `<0x0A>`).
    /// - Throws: `TokenizerError.invalidTokenID`.
    public func token(_ id: Int) throws(TokenizerError) -> String {
        try check(id)
        return String(decoding: vocabulary.tokens[id], as: UTF8.self)
    }

    public func encode(_ text: String) throws(TokenizerError) -> [Int] {
        try encode(text, addingBOS: addsBOS)
    }

    /// The token ids of `text`, with BOS first only when `addingBOS` (and the vocabulary has one):
    /// a piece of a longer prompt (a chat template's text between its special tokens).
    public func encode(_ text: String, addingBOS: Bool) throws(TokenizerError) -> [Int] {
        var ids = [Int]()
        if addingBOS, let bos = vocabulary.bos { ids.append(bos) }
        switch algorithm {
        case .byteLevelBPE(let bpe): bpe.encode(text, into: &ids)
        case .sentencePiece(let spm): try spm.encode(text, into: &ids)
        }
        return ids
    }

    public func decode(_ ids: [Int]) throws(TokenizerError) -> String {
        var bytes = [UInt8]()
        for id in ids {
            try check(id)
            if vocabulary.isControl(id) { continue }
            switch algorithm {
            case .byteLevelBPE(let bpe): bpe.decode(id, into: &bytes)
            case .sentencePiece(let spm): spm.decode(id, into: &bytes)
            }
        }
        if case .sentencePiece = algorithm, vocabulary.addSpacePrefix, bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes token `id` spells, as `decode` joins them (none for control tokens; no space
    /// prefix removed): what a stream of generated tokens turns into text, a token at a time
    /// (`IncrementalDetokenizer`).
    /// - Throws: `TokenizerError.invalidTokenID`.
    public func bytes(of id: Int) throws(TokenizerError) -> [UInt8] {
        try check(id)
        var bytes = [UInt8]()
        if vocabulary.isControl(id) { return bytes }
        switch algorithm {
        case .byteLevelBPE(let bpe): bpe.decode(id, into: &bytes)
        case .sentencePiece(let spm): spm.decode(id, into: &bytes)
        }
        return bytes
    }

    /// The id of the token whose vocabulary text is exactly `text` (`<|im_start|>`,
    /// `<start_of_turn>`), nil when there is none. A linear search: look special tokens up once.
    public func tokenID(of text: String) -> Int? {
        let key = Array(text.utf8)
        return vocabulary.tokens.firstIndex(of: key)
    }

    private func check(_ id: Int) throws(TokenizerError) {
        guard id >= 0, id < vocabularySize else { throw .invalidTokenID(id, vocabularySize: vocabularySize) }
    }
}
