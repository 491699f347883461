import KVPack
import KVPackModel

/// The dense run of one chunk, computed once and compared with every policy: the prompt as the
/// sessions' `prefill` receives it, and the logits after each teacher-forced continuation token,
/// decoded one at a time through a dense session exactly as the compressed runs decode.
struct ChunkReference: Sendable {
    /// The chunk's tokens and the one after it (`context + continuation + 1`).
    let tokens: [Int]
    /// Every layer's prompt keys, values and window queries.
    let prompt: SessionPrompt
    /// `[continuation, vocabulary]`: row `i` predicts `tokens[context + i + 1]`.
    let logits: [Float]
    let vocabularySize: Int

    /// Runs `tokens` densely: the prompt through `LanguageModel.prefill` (recording the prompt
    /// handed to the session), then the continuation one token at a time.
    init(model: LanguageModel, tokens: [Int], settings: FidelitySettings, pool: PagePool) throws(ModelError) {
        let recorder = PromptRecorder()
        let session = try model.makeSession(pool: pool, policy: recorder)
        defer { session.close() }
        _ = try model.prefill(Array(tokens[0..<settings.context]), session: session, window: settings.window)
        guard let prompt = recorder.prompt else { throw .noTokens } // prefill with a non-empty prompt always records
        let v = model.hyperparameters.vocabularySize
        var logits = [Float](repeating: 0, count: settings.continuation * v)
        try Self.decode(model: model, tokens: tokens, settings: settings, session: session) { i, row in
            logits.replaceSubrange(i * v..<(i + 1) * v, with: row.values)
        }
        self.tokens = tokens
        self.prompt = prompt
        self.logits = logits
        self.vocabularySize = v
    }

    /// Decodes the continuation `tokens[context ..< context + continuation]` through a prefilled
    /// `session`, one token per forward call (the policy's decode stages act after each), handing
    /// each step's logits row to `body`.
    static func decode(model: LanguageModel, tokens: [Int], settings: FidelitySettings, session: CacheSession,
                       _ body: (Int, Logits) throws(ModelError) -> Void) throws(ModelError) {
        for i in 0..<settings.continuation {
            let position = settings.context + i
            let hidden = try model.forward([tokens[position]], startingAt: position, session: session)
            try body(i, try model.logits(hidden, rows: 0..<1))
        }
    }

    /// Compares the compressed run's logits `row` of continuation step `i` with the dense one.
    func compare(step i: Int, with row: Logits, context: Int) -> TokenComparison {
        logits.withUnsafeBufferPointer { dense in
            row.values.withUnsafeBufferPointer { compressed in
                TokenComparison(dense: UnsafeBufferPointer(rebasing: dense[i * vocabularySize..<(i + 1) * vocabularySize]),
                                compressed: compressed, reference: tokens[context + i + 1])
            }
        }
    }
}
