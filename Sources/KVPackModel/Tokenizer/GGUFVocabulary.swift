/// A GGUF file's tokenizer metadata (`tokenizer.ggml.*`), read once and checked.
struct GGUFVocabulary: Sendable {
    /// GGUF token types (`tokenizer.ggml.token_type`).
    enum TokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    let model: String
    let preTokenizer: String?
    /// Each token's text as UTF-8 bytes (the keys of lookups: byte equality, not Unicode
    /// canonical equivalence, which would conflate distinct tokens such as "é" and "e\u{301}").
    let tokens: [[UInt8]]
    let types: [Int]
    let scores: [Float]
    let merges: [String]
    let bos: Int?
    let eos: Int?
    let addBOS: Bool
    let addSpacePrefix: Bool

    init(_ metadata: GGUFMetadata) throws(TokenizerError) {
        do throws(GGUFError) {
            model = try metadata.required("tokenizer.ggml.model", as: String.self)
            preTokenizer = try metadata.value("tokenizer.ggml.pre", as: String.self)
            let strings = try metadata.required("tokenizer.ggml.tokens", as: [String].self)
            tokens = strings.map { Array($0.utf8) }
            types = try metadata.value("tokenizer.ggml.token_type", as: [Int].self) ?? Array(repeating: 1, count: strings.count)
            scores = try metadata.value("tokenizer.ggml.scores", as: [Float].self) ?? Array(repeating: 0, count: strings.count)
            merges = try metadata.value("tokenizer.ggml.merges", as: [String].self) ?? []
            bos = try metadata.value("tokenizer.ggml.bos_token_id", as: Int.self)
            eos = try metadata.value("tokenizer.ggml.eos_token_id", as: Int.self)
            addBOS = try metadata.value("tokenizer.ggml.add_bos_token", as: Bool.self) ?? (model == "llama")
            addSpacePrefix = try metadata.value("tokenizer.ggml.add_space_prefix", as: Bool.self) ?? false
        } catch {
            throw .metadata(error)
        }
        guard !tokens.isEmpty else { throw .invalidVocabulary("no tokens") }
        guard types.count == tokens.count, scores.count == tokens.count else {
            throw .invalidVocabulary("\(tokens.count) tokens but \(types.count) token types and \(scores.count) scores")
        }
        for (name, id) in [("bos", bos), ("eos", eos)] {
            if let id, !(0..<tokens.count).contains(id) {
                throw .invalidVocabulary("\(name) token id \(id) is outside 0..<\(tokens.count)")
            }
        }
    }

    /// Token id by its UTF-8 bytes; the first id wins when a vocabulary lists a text twice.
    func index() -> [[UInt8]: Int] {
        var index = [[UInt8]: Int](minimumCapacity: tokens.count)
        for (id, token) in tokens.enumerated() where index[token] == nil { index[token] = id }
        return index
    }

    func isControl(_ id: Int) -> Bool { types[id] == TokenType.control.rawValue }
}
