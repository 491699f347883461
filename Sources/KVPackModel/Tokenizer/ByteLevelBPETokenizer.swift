/// Byte-level BPE from a GGUF vocabulary (`tokenizer.ggml.model` = `gpt2`; SmolLM2): the text
/// is pre-tokenized (`GPT2PreTokenizer`), each piece's UTF-8 bytes become their byte-level
/// alphabet tokens, and adjacent tokens merge by `tokenizer.ggml.merges` rank, lowest rank first
/// and leftmost on ties, as Hugging Face `tokenizers`' BPE model does (the capture tool's reference).
public struct ByteLevelBPETokenizer: TextTokenizer {
    public let vocabularySize: Int
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let addsBOS: Bool

    private let vocabulary: GGUFVocabulary
    /// The token of each single byte; nil for the bytes the vocabulary lacks (SmolLM2 has no
    /// token for some control bytes: like `tokenizers`' BPE without an unknown token, such
    /// bytes are dropped).
    private let byteTokens: [Int?]
    /// (left id << 32 | right id) -> (rank, merged id).
    private let merges: [UInt64: (rank: Int, id: Int)]

    init(_ vocabulary: GGUFVocabulary) throws(TokenizerError) {
        guard vocabulary.preTokenizer == "smollm" else { throw .unsupportedPreTokenizer(vocabulary.preTokenizer ?? "(none)") }
        let index = vocabulary.index()
        let byteTokens = ByteLevelAlphabet.characters.map { index[Array(String($0).utf8)] }
        var merges = [UInt64: (rank: Int, id: Int)](minimumCapacity: vocabulary.merges.count)
        for (rank, merge) in vocabulary.merges.enumerated() {
            let parts = merge.utf8.split(separator: UInt8(ascii: " "), maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let left = index[Array(parts[0])], let right = index[Array(parts[1])],
                  let merged = index[Array(parts[0]) + Array(parts[1])] else {
                throw .invalidVocabulary("merge \(rank) '\(merge)' does not join two vocabulary tokens into one")
            }
            let key = UInt64(left) << 32 | UInt64(right)
            if merges[key] == nil { merges[key] = (rank, merged) }
        }
        self.vocabulary = vocabulary
        self.byteTokens = byteTokens
        self.merges = merges
        vocabularySize = vocabulary.tokens.count
        bosTokenID = vocabulary.bos
        eosTokenID = vocabulary.eos
        addsBOS = vocabulary.addBOS
    }

    private struct Candidate: Comparable {
        let rank: Int, position: Int, id: Int
        static func < (a: Candidate, b: Candidate) -> Bool { (a.rank, a.position) < (b.rank, b.position) }
    }

    public func encode(_ text: String) throws(TokenizerError) -> [Int] {
        var ids = addsBOS ? bosTokenID.map { [$0] } ?? [] : []
        let scalars = Array(text.unicodeScalars)
        var symbols = [Int](), next = [Int](), previous = [Int]()
        var queue = MergeQueue<Candidate>()
        GPT2PreTokenizer.split(scalars) { piece in
            symbols.removeAll(keepingCapacity: true)
            for scalar in scalars[piece] {
                for byte in String(scalar).utf8 { if let id = byteTokens[Int(byte)] { symbols.append(id) } }
            }
            mergeWord(&symbols, &next, &previous, &queue)
            var i = 0
            while i < symbols.count {
                ids.append(symbols[i])
                i = next[i]
            }
        }
        return ids
    }

    /// Merges `symbols` in place (a linked list by `next`/`previous`; merged-away symbols are
    /// skipped by `next`). Hugging Face's `Word::merge_all`.
    private func mergeWord(_ symbols: inout [Int], _ next: inout [Int], _ previous: inout [Int],
                           _ queue: inout MergeQueue<Candidate>) {
        let n = symbols.count
        next = Array(1...max(n, 1))
        previous = Array(-1..<max(n - 1, 0))
        var alive = [Bool](repeating: true, count: n)
        queue.removeAll()
        func candidate(_ i: Int) -> Candidate? {
            let j = next[i]
            guard j < n, let m = merges[UInt64(symbols[i]) << 32 | UInt64(symbols[j])] else { return nil }
            return Candidate(rank: m.rank, position: i, id: m.id)
        }
        for i in 0..<max(n - 1, 0) { if let c = candidate(i) { queue.push(c) } }
        while let top = queue.pop() {
            let i = top.position
            guard alive[i], next[i] < n, let current = candidate(i), current.id == top.id else { continue }
            let j = next[i]
            symbols[i] = top.id
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { previous[next[j]] = i }
            if previous[i] >= 0, let c = candidate(previous[i]) { queue.push(c) }
            if let c = candidate(i) { queue.push(c) }
        }
    }

    public func decode(_ ids: [Int]) throws(TokenizerError) -> String {
        var bytes = [UInt8]()
        for id in ids {
            guard id >= 0, id < vocabularySize else { throw .invalidTokenID(id, vocabularySize: vocabularySize) }
            if vocabulary.isControl(id) { continue }
            let token = vocabulary.tokens[id]
            // Hugging Face's ByteLevel decoder: alphabet characters back to bytes; a token with a
            // character outside the alphabet contributes its own UTF-8 bytes.
            var mapped = [UInt8]()
            var inAlphabet = true
            for scalar in String(decoding: token, as: UTF8.self).unicodeScalars {
                guard let b = ByteLevelAlphabet.bytes[scalar] else { inAlphabet = false; break }
                mapped.append(b)
            }
            bytes += inAlphabet ? mapped : token
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
