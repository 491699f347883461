/// SentencePiece-style BPE from a GGUF vocabulary (`tokenizer.ggml.model` = `llama`; Gemma-3),
/// in llama.cpp's SPM merge order, as the capture tool implements it:
/// 1. user-defined tokens (GGUF token type 4: Gemma's runs of newlines and spaces, a few tags)
///    are cut out of the text first, longest first, and become their own ids;
/// 2. in the rest, spaces become `▁` (U+2581) (with one prepended if `add_space_prefix`), each
///    Unicode scalar is a symbol, and the adjacent pair whose concatenation is the
///    highest-scoring vocabulary token merges next (leftmost on ties), until none is in the vocabulary;
/// 3. a symbol outside the vocabulary is spelled by its UTF-8 bytes' `<0xNN>` tokens.
struct SentencePieceBPE: Sendable {
    private let vocabulary: GGUFVocabulary
    private let index: [[UInt8]: Int]
    /// User-defined tokens as (UTF-8 bytes, id), longest (in Unicode scalars) first, then by id.
    private let userDefined: [([UInt8], Int)]
    /// The `<0xNN>` token of each byte value, when the vocabulary has it.
    private let byteTokens: [Int?]
    /// The byte each `<0xNN>` token spells, by id.
    private let tokenBytes: [Int: UInt8]

    init(_ vocabulary: GGUFVocabulary) throws(TokenizerError) {
        let index = vocabulary.index()
        var userDefined = [([UInt8], Int, Int)]()
        for (id, type) in vocabulary.types.enumerated() where type == GGUFVocabulary.TokenType.userDefined.rawValue {
            let token = vocabulary.tokens[id]
            guard !token.isEmpty else { throw .invalidVocabulary("user-defined token \(id) is empty") }
            userDefined.append((token, id, String(decoding: token, as: UTF8.self).unicodeScalars.count))
        }
        userDefined.sort { ($0.2, $1.1) > ($1.2, $0.1) }  // longer first; equal lengths by increasing id
        var byteTokens = [Int?](repeating: nil, count: 256)
        var tokenBytes = [Int: UInt8]()
        for b in 0..<256 {
            let hex = String(b, radix: 16, uppercase: true)
            if let id = index[Array("<0x\(b < 16 ? "0" : "")\(hex)>".utf8)] {
                byteTokens[b] = id
                tokenBytes[id] = UInt8(b)
            }
        }
        self.vocabulary = vocabulary
        self.index = index
        self.userDefined = userDefined.map { ($0.0, $0.1) }
        self.byteTokens = byteTokens
        self.tokenBytes = tokenBytes
    }

    /// A fragment of the text: raw UTF-8 bytes, or a user-defined token already matched.
    private enum Fragment {
        case text([UInt8])
        case token(Int)
    }

    /// Appends the ids of `text` to `ids`.
    /// - Throws: `TokenizerError.noByteFallback` for a character the vocabulary cannot spell.
    func encode(_ text: String, into ids: inout [Int]) throws(TokenizerError) {
        var fragments = [Fragment.text(Array(text.utf8))]
        for (piece, id) in userDefined {
            var out = [Fragment]()
            for fragment in fragments {
                guard case .text(let bytes) = fragment else { out.append(fragment); continue }
                // Byte-wise matching equals matching by scalars: UTF-8 is self-synchronizing.
                let parts = Self.split(bytes, on: piece)
                for (k, part) in parts.enumerated() {
                    if !part.isEmpty { out.append(.text(part)) }
                    if k < parts.count - 1 { out.append(.token(id)) }
                }
            }
            fragments = out
        }
        var queue = MergeQueue<Candidate>()
        for fragment in fragments {
            switch fragment {
            case .token(let id): ids.append(id)
            case .text(let bytes): try encodeFragment(bytes, into: &ids, &queue)
            }
        }
    }

    /// `bytes` split at each non-overlapping occurrence of `separator`, left to right (Python's `str.split`).
    private static func split(_ bytes: [UInt8], on separator: [UInt8]) -> [[UInt8]] {
        guard bytes.count >= separator.count else { return [bytes] }
        var parts = [[UInt8]]()
        var start = 0, i = 0
        while i + separator.count <= bytes.count {
            if bytes[i] == separator[0], bytes[i..<i + separator.count].elementsEqual(separator) {
                parts.append(Array(bytes[start..<i]))
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(Array(bytes[start...]))
        return parts
    }

    private struct Candidate: Comparable {
        let score: Float, position: Int, end: Int
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score != b.score ? a.score > b.score : (a.position, a.end) < (b.position, b.end)
        }
    }

    private static let space = Array(" ".utf8), lowerBlock = Array("\u{2581}".utf8)

    private func encodeFragment(_ raw: [UInt8], into ids: inout [Int], _ queue: inout MergeQueue<Candidate>) throws(TokenizerError) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(raw.count + 3)
        if vocabulary.addSpacePrefix { bytes += Self.lowerBlock }
        for b in raw { if b == 0x20 { bytes += Self.lowerBlock } else { bytes.append(b) } }
        // Symbols are byte ranges [start[i], start[next[i]]) of one or more scalars.
        var start = [Int]()
        for (i, b) in bytes.enumerated() where b & 0xC0 != 0x80 { start.append(i) }
        let n = start.count
        guard n > 0 else { return }
        start.append(bytes.count)
        var next = Array(1...n), previous = Array(-1..<n), alive = [Bool](repeating: true, count: n)
        func candidate(_ i: Int) -> Candidate? {
            let j = next[i]
            guard j < n, let id = index[Array(bytes[start[i]..<start[next[j]] ])] else { return nil }
            return Candidate(score: vocabulary.scores[id], position: i, end: start[next[j]])
        }
        queue.removeAll()
        for i in 0..<max(n - 1, 0) { if let c = candidate(i) { queue.push(c) } }
        while let top = queue.pop() {
            let i = top.position
            guard alive[i], next[i] < n, start[next[next[i]]] == top.end else { continue }
            let j = next[i]
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { previous[next[j]] = i }
            if previous[i] >= 0, let c = candidate(previous[i]) { queue.push(c) }
            if let c = candidate(i) { queue.push(c) }
        }
        var i = 0
        while i < n {
            let symbol = Array(bytes[start[i]..<start[next[i]]])
            if let id = index[symbol] {
                ids.append(id)
            } else {
                for b in symbol {
                    guard let id = byteTokens[Int(b)] else {
                        throw .noByteFallback(String(decoding: symbol, as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}")
                    }
                    ids.append(id)
                }
            }
            i = next[i]
        }
    }

    /// The bytes token `id` spells: a `<0xNN>` byte token its byte, any other its text with `▁` as a space.
    func decode(_ id: Int, into bytes: inout [UInt8]) {
        if let b = tokenBytes[id], vocabulary.types[id] == GGUFVocabulary.TokenType.byte.rawValue {
            bytes.append(b)
            return
        }
        let token = vocabulary.tokens[id]
        var k = 0
        while k < token.count {
            if k + 3 <= token.count, token[k..<k + 3].elementsEqual(Self.lowerBlock) {
                bytes.append(0x20)
                k += 3
            } else {
                bytes.append(token[k])
                k += 1
            }
        }
    }
}
