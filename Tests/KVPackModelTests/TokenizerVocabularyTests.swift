import KVPackTestSupport
import KVPackModel
import Testing

/// Tokenizers from small hand-made vocabularies: merge order worked by hand, and each kind of
/// bad vocabulary refused with a typed error.
@Suite("Tokenizers: small vocabularies")
struct TokenizerVocabularyTests {
    func tokenizer(_ b: GGUFBuilder) throws -> any TextTokenizer { try GGUFFile(bytes: b.bytes()).tokenizer() }

    @Test("byte-level BPE by hand: merges apply by rank, leftover bytes stay single")
    func bpe() throws {
        let t = try tokenizer(TinyVocabularies.gpt2())
        // " the": Ġ t h e -> (rank 0) Ġt h e -> (rank 1) Ġt he -> (rank 2) Ġthe.
        #expect(try t.encode(" the") == [258])
        // " then": "Ġthe" + "n" (the byte tokens come first, in byte order: id = byte value).
        #expect(try t.encode(" then") == [258, Int(UInt8(ascii: "n"))])
        // Without the middle merge, "Ġthe" cannot form.
        let partial = try tokenizer(TinyVocabularies.gpt2(merges: ["Ġ t"]))
        #expect(try partial.encode(" the") == [256, Int(UInt8(ascii: "h")), Int(UInt8(ascii: "e"))])
        #expect(try t.decode([259, 258, 10]) == " the\n")  // BOS (control) left out
        #expect(t.addsBOS == false && t.bosTokenID == 259)
    }

    @Test("SentencePiece by hand: highest score first, user-defined tokens, byte fallback")
    func spm() throws {
        let t = try tokenizer(TinyVocabularies.llama())
        // "ab a": a b ▁ a -> "ab" (score 5) first, then "▁a" (3).
        #expect(try t.encode("ab a") == [2, 6, 7])
        // "b\n\nc": "\n\n" is cut out first; "c" (0x63) falls back to <0x63> = id 9 + 0x63.
        #expect(try t.encode("b\n\nc") == [2, 5, 8, 9 + 0x63])
        #expect(try t.decode([2, 6, 7, 8, 9 + 0x63]) == "ab a\n\nc")
        // Empty texts, with and without user-defined tokens (which change how fragments form).
        #expect(try t.encode("") == [2])
        #expect(try tokenizer(TinyVocabularies.llama(userDefined: false)).encode("") == [2])
        #expect(try tokenizer(TinyVocabularies.gpt2()).encode("") == [])
        let noBytes = try tokenizer(TinyVocabularies.llama(byteTokens: false))
        #expect(throws: TokenizerError.noByteFallback("c")) { try noBytes.encode("abc") }
    }

    @Test("bad vocabularies: unknown model or pre-tokenizer, missing or mismatched arrays, broken merges")
    func badVocabularies() throws {
        var b = TinyVocabularies.gpt2()
        b.metadata[0].1 = .string("bert")
        #expect(throws: TokenizerError.unsupportedModel("bert")) { try tokenizer(b) }
        #expect(throws: TokenizerError.unsupportedPreTokenizer("llama-bpe")) { try tokenizer(TinyVocabularies.gpt2(pre: "llama-bpe")) }
        #expect(throws: TokenizerError.self) { try tokenizer(TinyVocabularies.gpt2(merges: ["Ġ zz"])) }
        #expect(throws: TokenizerError.self) { try tokenizer(TinyVocabularies.gpt2(merges: ["nospace"])) }
        b = TinyVocabularies.llama()
        b.metadata.removeAll { $0.0 == "tokenizer.ggml.tokens" }
        #expect(throws: TokenizerError.metadata(.missingMetadata(key: "tokenizer.ggml.tokens"))) { try tokenizer(b) }
        b = TinyVocabularies.llama()
        b.metadata[2].1 = .floats([1, 2])
        #expect(throws: TokenizerError.invalidVocabulary("265 tokens but 265 token types and 2 scores")) { try tokenizer(b) }
        b = TinyVocabularies.llama()
        b.metadata[4].1 = .u32(1000)
        #expect(throws: TokenizerError.invalidVocabulary("bos token id 1000 is outside 0..<265")) { try tokenizer(b) }
        b = TinyVocabularies.llama()
        b.metadata[1].1 = .u32(7)
        #expect(throws: TokenizerError.metadata(.metadataType(key: "tokenizer.ggml.tokens", expected: "array of string", found: "uint32"))) {
            try tokenizer(b)
        }
    }
}
