import KVPack

extension LanguageModel {
    /// Prefills an empty `session` with a prompt the way a compressing server does: the prompt
    /// runs at positions `0 ..< tokens.count` with dense attention (through a scratch dense
    /// session on its own pool), then the session's policy compresses it at the end of the
    /// prompt (`CacheSession.prefill` with every layer's keys, values and last `window` queries,
    /// the observation window of SnapKV-style scorers). Decode continues with
    /// `forward(_:startingAt:session:)` at position `tokens.count`. `PromptPrefill` runs the same
    /// a chunk at a time.
    /// - Parameters:
    ///   - tokens: the prompt's token ids.
    ///   - session: an empty session of this model; its policy chooses what is kept.
    ///   - window: observation-window queries handed to the policy (clamped to the prompt).
    ///   - chunk: prompt tokens per forward call (the dense prompt attends in chunks: causal
    ///     attention costs about half of one whole-prompt call, and activations stay small).
    /// - Returns: the prompt's final hidden states, `[tokens, d_model]` (what the dense model
    ///   computes: compression acts only on later tokens).
    /// - Throws: `ModelError` for bad tokens, a session of another model, or a session that
    ///   refuses the prompt (already prefilled, a policy that refuses, a full pool).
    public func prefill(_ tokens: [Int], session: CacheSession, window: Int = 32, chunk: Int = 512) throws(ModelError) -> HiddenStates {
        var prefill = try PromptPrefill(model: self, tokens: tokens, session: session, window: window, chunk: chunk)
        while !prefill.isComplete { try prefill.step() }
        return try prefill.store()
    }
}
