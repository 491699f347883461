import Foundation

/// A tiny random decoder written as a GGUF file, for tests that need a whole model (the server's):
/// a Llama of `layers` blocks with F32 weights drawn from `TestRandom`, GPT-2's byte-level
/// vocabulary (the 256 byte tokens, three merges, `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`)
/// and SmolLM2's ChatML chat template.
public enum TinyModelFile {
    /// GPT-2's byte alphabet in byte order (a test-side copy of GPT-2's `bytes_to_unicode`): token
    /// `b` of the vocabulary spells byte `b`.
    public static let byteAlphabet: [String] = {
        let printable = Set(Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF))
        var next = 256
        return (0..<256).map { b in
            if printable.contains(b) { return String(UnicodeScalar(UInt8(b))) }
            defer { next += 1 }
            return String(UnicodeScalar(UInt16(next))!)
        }
    }()

    /// The vocabulary's special tokens.
    public static let endOfText = 259, imStart = 260, imEnd = 261

    /// SmolLM2-135M-Instruct's chat template, verbatim.
    public static let chatML = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

    /// The model's GGUF bytes (keep them under 1 MiB, where `GGUFBuilder` places tensors): `layers` blocks of width `width`, `heads` query heads over `kvHeads`
    /// KV heads (head dim `width / heads`), MLP width `ffn`.
    public static func llama(layers: Int = 2, width: Int = 64, heads: Int = 4, kvHeads: Int = 2, ffn: Int = 96, seed: UInt64 = 11) -> GGUFBuilder {
        var b = GGUFBuilder()
        let tokens = byteAlphabet + ["Ġt", "he", "Ġthe", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        let types: [Int32] = Array(repeating: 1, count: 259) + [3, 3, 3]
        let headDim = width / heads
        b.metadata = [
            ("general.architecture", .string("llama")), ("general.name", .string("tiny")),
            ("llama.block_count", .u32(UInt32(layers))), ("llama.embedding_length", .u32(UInt32(width))),
            ("llama.feed_forward_length", .u32(UInt32(ffn))), ("llama.attention.head_count", .u32(UInt32(heads))),
            ("llama.attention.head_count_kv", .u32(UInt32(kvHeads))), ("llama.context_length", .u32(2048)),
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("smollm")),
            ("tokenizer.ggml.tokens", .strings(tokens)), ("tokenizer.ggml.token_type", .ints(types)),
            ("tokenizer.ggml.merges", .strings(["Ġ t", "h e", "Ġt he"])),
            ("tokenizer.ggml.bos_token_id", .u32(UInt32(endOfText))), ("tokenizer.ggml.eos_token_id", .u32(UInt32(imEnd))),
            ("tokenizer.ggml.add_bos_token", .bool(false)), ("tokenizer.chat_template", .string(chatML)),
        ]
        var rng = TestRandom(seed)
        func tensor(_ name: String, _ dims: [Int], around center: Float = 0, spread: Float = 0.5) -> GGUFBuilder.Tensor {
            let n = dims.reduce(1, *)
            return GGUFBuilder.Tensor(name: name, dims: dims.map(UInt64.init), type: 0,
                                      data: (0..<n).flatMap { _ in (center + spread * rng.signed()).bitPattern.leBytes })
        }
        b.tensors = [tensor("token_embd.weight", [width, tokens.count]), tensor("output_norm.weight", [width], around: 1, spread: 0.1)]
        for l in 0..<layers {
            let p = "blk.\(l)."
            b.tensors += [
                tensor(p + "attn_norm.weight", [width], around: 1, spread: 0.1),
                tensor(p + "attn_q.weight", [width, width]), tensor(p + "attn_k.weight", [width, kvHeads * headDim]),
                tensor(p + "attn_v.weight", [width, kvHeads * headDim]), tensor(p + "attn_output.weight", [width, width]),
                tensor(p + "ffn_norm.weight", [width], around: 1, spread: 0.1),
                tensor(p + "ffn_gate.weight", [width, ffn]), tensor(p + "ffn_up.weight", [width, ffn]), tensor(p + "ffn_down.weight", [ffn, width]),
            ]
        }
        return b
    }

    /// Writes `llama(layers:seed:)` to the temporary directory and returns its path: one file per
    /// settings, rewritten whole (atomically) by every test process that asks, never left half-written.
    public static func write(layers: Int = 2, seed: UInt64 = 11) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kvpack-tiny-llama-\(layers)-\(seed).gguf")
        try Data(llama(layers: layers, seed: seed).bytes()).write(to: url, options: .atomic)
        return url.path
    }
}
