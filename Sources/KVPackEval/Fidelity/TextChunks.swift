/// The chunks of a tokenized text that a fidelity evaluation runs, as `llama-perplexity` cuts
/// them: chunk `c` is tokens `c × L ..< (c + 1) × L` (`L = context + continuation`), its first
/// token replaced by BOS when the model's tokenizer adds one, so every chunk starts as a document
/// does. Each chunk also carries the token after it, the reference of its last prediction.
public struct TextChunks: Sendable, Hashable {
    /// Per chunk, `L + 1` token ids.
    public let chunks: [[Int]]

    /// - Parameters:
    ///   - tokens: the whole text's token ids (as the tokenizer gives them, BOS included or not).
    ///   - bos: the BOS id to start each chunk with, or nil to leave chunks as cut.
    /// - Throws: `FidelityError.textTooShort` (with the text's token count) when `tokens` has
    ///   fewer than `settings.tokensNeeded`.
    public init(tokens: [Int], settings: FidelitySettings, bos: Int?) throws(FidelityError) {
        guard tokens.count >= settings.tokensNeeded else {
            throw .textTooShort(tokens: tokens.count, needed: settings.tokensNeeded, chunks: settings.chunks,
                                context: settings.context, continuation: settings.continuation)
        }
        let length = settings.chunkLength
        chunks = (0..<settings.chunks).map { c in
            var chunk = Array(tokens[c * length...(c + 1) * length])
            if let bos { chunk[0] = bos }
            return chunk
        }
    }
}
