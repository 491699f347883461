/// Byte-level BPE from a GGUF vocabulary (`tokenizer.ggml.model` = `gpt2`; SmolLM2): the text
/// is pre-tokenized (`GPT2PreTokenizer`), each piece's UTF-8 bytes become their byte-level
/// alphabet tokens, and adjacent tokens merge by `tokenizer.ggml.merges` rank, lowest rank first
/// and leftmost on ties, as Hugging Face `tokenizers`' BPE model does (the capture tool's reference).
struct ByteLevelBPE: Sendable {
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
    }

    private struct Candidate: Comparable {
        let rank: Int, position: Int, id: Int
        static func < (a: Candidate, b: Candidate) -> Bool { (a.rank, a.position) < (b.rank, b.position) }
    }

    /// Appends the ids of `text` to `ids`.
    func encode(_ text: String, into ids: inout [Int]) {
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

    /// The bytes token `id` spells (Hugging Face's ByteLevel decoder: alphabet characters back to
    /// bytes; a token with a character outside the alphabet gives its own UTF-8 bytes).
    func decode(_ id: Int, into bytes: inout [UInt8]) {
        let token = vocabulary.tokens[id]
        let start = bytes.count
        for scalar in String(decoding: token, as: UTF8.self).unicodeScalars {
            guard let b = ByteLevelAlphabet.bytes[scalar] else {
                bytes.removeSubrange(start...)
                bytes += token
                return
            }
            bytes.append(b)
        }
    }
}
