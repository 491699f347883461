import Foundation
import KVPack
import KVPackDatasets
import KVPackModel
import Testing

/// The tokenizers built from the two models' GGUF vocabularies against the capture tool's
/// (Tools/capture/kvcapture/tokenizer.py): the token ids stored in the shipped captures, and the
/// ids it gives for hand-picked texts, real multilingual excerpts and the whole GPL-3 (fixture `tokenizer-cases.json`,
/// written by Tools/capture/make_tokenizer_fixtures.py).
@Suite("Tokenizers from GGUF vocabularies")
struct TokenizerTests {
    static let gpl3 = "/usr/share/common-licenses/GPL-3"

    static func tokenizer(_ model: ShippedModel) throws -> any TextTokenizer {
        try ModelFiles.file(model).tokenizer()
    }

    /// The capture tool's ids: hand-picked texts and real excerpts as (text, ids), and the whole GPL-3's ids.
    static func cases(_ model: ShippedModel) throws -> (cases: [(String, [Int])], gpl3: [Int]) {
        let json = try Fixtures.json("tokenizer-cases.json")
        guard let texts = json["cases"] as? [String], let excerpts = json["excerpts"] as? [[String: String]],
              let entry = (json["models"] as? [String: Any])?[model.rawValue] as? [String: Any],
              let caseIDs = entry["case_ids"] as? [[Int]], let excerptIDs = entry["excerpt_ids"] as? [[Int]],
              let gpl3 = entry["gpl3_ids"] as? [Int], caseIDs.count == texts.count, excerptIDs.count == excerpts.count
        else { throw FixtureError(description: "tokenizer-cases.json has no \(model)") }
        return (Array(zip(texts + excerpts.map { $0["text"] ?? "" }, caseIDs + excerptIDs)), gpl3)
    }

    @Test("the shipped captures' token ids: GPL-3 tokens 0..<2113", arguments: [
        (ShippedModel.smollm2, "smollm2-135m-gpl3-2k.h5"), (.gemma3_270m, "gemma3-270m-gpl3-2k.h5"),
    ])
    func shippedCaptures(model: ShippedModel, sample: String) throws {
        let capture = try CaptureFile.open(Fixtures.repository.appendingPathComponent("Datasets/samples/\(sample)").path)
        let id = try #require(capture.sequenceIDs.first)
        let stored = try #require(try capture.denseModelReference(of: id)).tokenIDs
        #expect(stored.count == 2113)
        let ids = try Self.tokenizer(model).encode(String(contentsOfFile: Self.gpl3, encoding: .utf8))
        #expect(Array(ids.prefix(stored.count)) == stored)
        if let first = zip(ids, stored).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("first difference at token \(first.offset): \(first.element.0) vs stored \(first.element.1)")
        }
    }

    @Test("the capture tool's ids for hand-picked texts, multilingual excerpts and the whole GPL-3", arguments: ShippedModel.allCases)
    func captureToolCases(model: ShippedModel) throws {
        let tokenizer = try Self.tokenizer(model)
        let (cases, gpl3) = try Self.cases(model)
        #expect(cases.count >= 25)
        for (text, expected) in cases {
            #expect(try tokenizer.encode(text) == expected, "\(model): \(text.debugDescription)")
        }
        #expect(try tokenizer.encode(String(contentsOfFile: Self.gpl3, encoding: .utf8)) == gpl3)
    }

    @Test("decode(encode(text)) gives the text back", arguments: ShippedModel.allCases)
    func roundTrip(model: ShippedModel) throws {
        let tokenizer = try Self.tokenizer(model)
        for (text, _) in try Self.cases(model).cases {
            #expect(try tokenizer.decode(tokenizer.encode(text)) == text, "\(model): \(text.debugDescription)")
        }
        let gpl3 = try String(contentsOfFile: Self.gpl3, encoding: .utf8)
        #expect(try tokenizer.decode(tokenizer.encode(gpl3)) == gpl3)
    }

    /// Token ids looked up in the file's own vocabulary (not through the tokenizer).
    static func vocabulary(_ model: ShippedModel) throws -> [String: Int] {
        let tokens = try ModelFiles.file(model).metadata.required("tokenizer.ggml.tokens", as: [String].self)
        var index = [String: Int]()
        for (i, t) in tokens.enumerated() where index[t] == nil { index[t] = i }
        return index
    }

    @Test("SmolLM2 by hand: digits one by one, a space run keeps its last space for the next word, contractions")
    func smolByHand() throws {
        let tokenizer = try Self.tokenizer(.smollm2)
        let v = try Self.vocabulary(.smollm2)
        #expect(tokenizer.addsBOS == false && tokenizer.bosTokenID == 1)
        // "2024": the Digits pre-tokenizer isolates every digit, so no multi-digit token can form.
        #expect(try tokenizer.encode("2024") == ["2", "0", "2", "4"].map { v[$0]! })
        // "a   b": `\s+(?!\S)` takes two spaces, the third joins "b" ("Ġ" is GPT-2's space).
        #expect(try tokenizer.encode("a   b") == [v["a"]!, v["ĠĠ"]!, v["Ġb"]!])
        // "I'm": "I", then the contraction "'m".
        #expect(try tokenizer.encode("I'm") == [v["I"]!, v["'m"]!])
        // "é" is two UTF-8 bytes, spelled "Ã" + "©" in the byte alphabet, merged into one token.
        #expect(try tokenizer.encode("é") == [v["Ã©"]!])
        #expect(try tokenizer.decode([v["Ã"]!]) == "\u{FFFD}")  // half a character
        #expect(try tokenizer.decode([v["<|im_start|>"]!, v["Hi"]!]) == "Hi")  // control tokens are left out
    }

    @Test("Gemma-3 by hand: BOS first, newline runs are user-defined tokens, byte fallback")
    func gemmaByHand() throws {
        let tokenizer = try Self.tokenizer(.gemma3_270m)
        let v = try Self.vocabulary(.gemma3_270m)
        let bos = try #require(tokenizer.bosTokenID)
        #expect(tokenizer.addsBOS && bos == v["<bos>"])
        #expect(try tokenizer.encode("a\n\nb") == [bos, v["a"]!, v["\n\n"]!, v["b"]!])
        #expect(try tokenizer.encode("hello world") == [bos, v["hello"]!, v["▁world"]!])
        // U+10FFFD (plane-16 private use) is not in the vocabulary: its four UTF-8 bytes, F4 8F BF BD.
        #expect(try tokenizer.encode("\u{10FFFD}") == [bos] + ["<0xF4>", "<0x8F>", "<0xBF>", "<0xBD>"].map { v[$0]! })
        #expect(try tokenizer.decode([bos] + ["<0xF4>", "<0x8F>", "<0xBF>", "<0xBD>"].map { v[$0]! }) == "\u{10FFFD}")
        #expect(try tokenizer.decode([v["▁world"]!, v["\n\n"]!]) == " world\n\n")
    }

    @Test("ids outside the vocabulary are a typed error", arguments: ShippedModel.allCases)
    func badIDs(model: ShippedModel) throws {
        let tokenizer = try Self.tokenizer(model)
        let size = tokenizer.vocabularySize
        #expect(throws: TokenizerError.invalidTokenID(size, vocabularySize: size)) { try tokenizer.decode([1, size]) }
        #expect(throws: TokenizerError.invalidTokenID(-1, vocabularySize: size)) { try tokenizer.decode([-1]) }
    }
}
