import KVPackTestSupport
import KVPackModel

/// Small vocabularies written with `GGUFBuilder`, for tokenizer error paths and fuzzing.
enum TinyVocabularies {
    /// GPT-2's byte alphabet, in byte order.
    static let alphabet = TinyModelFile.byteAlphabet

    /// Byte-level BPE: the 256 byte tokens, then "Ġt", "he", "Ġthe"; BOS = 256 (not added).
    static func gpt2(pre: String = "smollm", merges: [String] = ["Ġ t", "h e", "Ġt he"]) -> GGUFBuilder {
        var b = GGUFBuilder()
        let tokens = alphabet + ["Ġt", "he", "Ġthe", "<s>"]
        b.metadata = [("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string(pre)),
                      ("tokenizer.ggml.tokens", .strings(tokens)),
                      ("tokenizer.ggml.token_type", .ints(Array(repeating: 1, count: tokens.count - 1) + [3])),
                      ("tokenizer.ggml.merges", .strings(merges)), ("tokenizer.ggml.bos_token_id", .u32(259))]
        return b
    }

    /// SentencePiece-style: control tokens, "▁", "a", "b", "ab" (score 5), "▁a" (score 3), the
    /// user-defined "\n\n", and byte tokens <0x00>...<0xFF> (ids 9...264). BOS = 2, added.
    static func llama(byteTokens: Bool = true, userDefined: Bool = true) -> GGUFBuilder {
        var b = GGUFBuilder()
        var tokens = ["<pad>", "<eos>", "<bos>", "▁", "a", "b", "ab", "▁a", "\n\n"]
        var scores: [Float] = [0, 0, 0, -1, -2, -2, 5, 3, 0]
        var types: [Int32] = [3, 3, 3, 1, 1, 1, 1, 1, userDefined ? 4 : 1]
        if byteTokens {
            for byte in 0..<256 {
                tokens.append("<0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) + ">")
                scores.append(0)
                types.append(6)
            }
        }
        b.metadata = [("tokenizer.ggml.model", .string("llama")), ("tokenizer.ggml.tokens", .strings(tokens)),
                      ("tokenizer.ggml.scores", .floats(scores)), ("tokenizer.ggml.token_type", .ints(types)),
                      ("tokenizer.ggml.bos_token_id", .u32(2)), ("tokenizer.ggml.eos_token_id", .u32(1))]
        return b
    }
}
