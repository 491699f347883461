import KVPack

extension LanguageModel {
    /// Prefills an empty `session` with a prompt the way a compressing server does: the prompt
    /// runs at positions `0 ..< tokens.count` with dense attention (through a scratch dense
    /// session on its own pool), then the session's policy compresses it at the end of the
    /// prompt (`CacheSession.prefill` with every layer's keys, values and last `window` queries,
    /// the observation window of SnapKV-style scorers). Decode continues with
    /// `forward(_:startingAt:session:)` at position `tokens.count`.
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
        try checkSession(session)
        let hp = hyperparameters
        guard !tokens.isEmpty else { throw .noTokens }
        guard chunk > 0 else { throw .invalidChunk(chunk) }
        // Refused before the forward pass rather than after it.
        for layer in 0..<hp.layerCount {
            do throws(SessionError) {
                if try session.tokenCounts(layer: layer).contains(where: { $0 > 0 }) { throw .alreadyPrefilled(layer: layer) }
            } catch {
                throw .session(error)
            }
        }
        let pool: PagePool
        do throws(PoolError) {
            pool = try PagePool(.init(budgetBytes: 1 << 50, headDim: hp.headDim, pageSize: session.pool.pageSize, name: "prefill"))
        } catch {
            throw .session(.pool(error))
        }
        let scratch = try makeSession(pool: pool)
        defer { scratch.close() }
        let w = max(0, min(window, tokens.count)), scale = hp.attentionScale
        var keys: [HeadTensor<Float16>?] = Array(repeating: nil, count: hp.layerCount), values = keys
        var windowQueries: [HeadTensor<Float>?] = Array(repeating: nil, count: hp.layerCount)
        var hidden: [Float] = [], profile = ForwardProfile()
        for start in stride(from: 0, to: tokens.count, by: chunk) {
            let part = try run(Array(tokens[start..<min(tokens.count, start + chunk)]), startingAt: start) {
                (layer, q, k, v, positions) throws(ModelError) in
                do throws(SessionError) {
                    try scratch.append(layer: layer, keys: k, values: v, positions: positions)
                    let out = try scratch.attend(layer: layer, queries: q, positions: positions, scale: scale)
                    keys[layer] = keys[layer].map { $0.appendingTokens(of: k) } ?? k
                    values[layer] = values[layer].map { $0.appendingTokens(of: v) } ?? v
                    // The last `w` queries so far (they may span chunks).
                    let recent = windowQueries[layer].map { $0.appendingTokens(of: q) } ?? q
                    windowQueries[layer] = recent.slicingTokens(max(0, recent.tokens - w)..<recent.tokens)
                    return out
                } catch {
                    throw .session(error)
                }
            }
            hidden += part.values
            profile.matrixProducts += part.profile.matrixProducts
            profile.matrixProductOperations += part.profile.matrixProductOperations
            profile.attention += part.profile.attention
            profile.total += part.profile.total
        }
        let layers = (0..<hp.layerCount).map { l in
            SessionPrompt.Layer(keys: keys[l]!, values: values[l]!, windowQueries: w > 0 ? windowQueries[l]!.halves() : nil)
        }
        let start = ContinuousClock.now
        do throws(SessionError) {
            try session.prefill(SessionPrompt(positions: Array(0..<tokens.count), layers: layers))
        } catch {
            throw .session(error)
        }
        let elapsed = ContinuousClock.now - start
        profile.attention += elapsed
        profile.total += elapsed
        return HiddenStates(tokens: tokens.count, width: hp.embeddingLength, values: hidden, profile: profile)
    }
}
