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
    /// - Returns: the prompt's final hidden states, `[tokens, d_model]` (what the dense model
    ///   computes: compression acts only on later tokens).
    /// - Throws: `ModelError` for bad tokens, a session of another model, or a session that
    ///   refuses the prompt (already prefilled, a policy that refuses, a full pool).
    public func prefill(_ tokens: [Int], session: CacheSession, window: Int = 32) throws(ModelError) -> HiddenStates {
        try checkSession(session)
        let hp = hyperparameters
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
        let w = max(0, min(window, tokens.count))
        var layers: [SessionPrompt.Layer] = []
        let scale = hp.attentionScale
        let hidden = try run(tokens, startingAt: 0) { (layer, queries, keys, values, positions) throws(ModelError) in
            do throws(SessionError) {
                try scratch.append(layer: layer, keys: keys, values: values, positions: positions)
                let out = try scratch.attend(layer: layer, queries: queries, positions: positions, scale: scale)
                layers.append(SessionPrompt.Layer(keys: keys, values: values,
                                                  windowQueries: w > 0 ? queries.slicingTokens(queries.tokens - w..<queries.tokens).halves() : nil))
                return out
            } catch {
                throw .session(error)
            }
        }
        let start = ContinuousClock.now
        do throws(SessionError) {
            try session.prefill(SessionPrompt(positions: Array(0..<tokens.count), layers: layers))
        } catch {
            throw .session(error)
        }
        let elapsed = ContinuousClock.now - start
        var profile = hidden.profile
        profile.attention += elapsed
        profile.total += elapsed
        return HiddenStates(tokens: hidden.tokens, width: hidden.width, values: hidden.values, profile: profile)
    }
}
