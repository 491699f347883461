import KVPack

extension LanguageModel {
    /// Runs `tokens` at positions `start ..< start + tokens.count` through every layer: each
    /// layer's post-RoPE keys and values are appended to `session` (f16) and the tokens' queries
    /// attend over the session's pages, masked by position (causal, and the layer's sliding
    /// window), with the policy's decode stages acting after each layer's attention. One token
    /// is a decode step; several are a chunk of a prompt.
    /// - Parameters:
    ///   - tokens: token ids, each in `0 ..< vocabularySize`.
    ///   - start: the first token's position; after every position the session already holds.
    ///   - session: a session of this model (`makeSession(pool:policy:)`).
    /// - Returns: the final normalized hidden states, `[tokens, d_model]`.
    /// - Throws: `ModelError` for empty or out-of-range tokens, a session of another model, or a
    ///   session refusing the tokens (positions not after its last, a full pool...). Bad tokens,
    ///   sessions and positions are refused before anything is appended; a session that refuses at
    ///   a later layer (a pool that fills up mid-pass) keeps the tokens of the layers before it, so
    ///   the sequence cannot continue: close that session.
    public func forward(_ tokens: [Int], startingAt start: Int, session: CacheSession) throws(ModelError) -> HiddenStates {
        try checkSession(session)
        let scale = hyperparameters.attentionScale
        return try run(tokens, startingAt: start) { (layer, queries, keys, values, positions) throws(ModelError) in
            do throws(SessionError) {
                try session.append(layer: layer, keys: keys, values: values, positions: positions)
                return try session.attend(layer: layer, queries: queries, positions: positions, scale: scale)
            } catch {
                throw .session(error)
            }
        }
    }

    func checkSession(_ session: CacheSession) throws(ModelError) {
        let m = session.model, f = facts
        guard m.layerCount == f.layerCount, m.queryHeads == f.queryHeads, m.kvHeads == f.kvHeads, m.headDim == f.headDim,
              m.layerKinds == f.layerKinds else {
            throw .sessionOfAnotherModel(
                expected: "\(f.layerCount) layers, \(f.queryHeads) query heads over \(f.kvHeads) KV heads, head dim \(f.headDim)",
                found: "\(m.layerCount) layers, \(m.queryHeads) query heads over \(m.kvHeads) KV heads, head dim \(m.headDim)")
        }
    }

    /// One layer's attention: `(layer, queries [Hq, T, hd] f32, keys [Hkv, T, hd] f16,
    /// values [Hkv, T, hd] f16, positions [T]) -> output [Hq, T, hd]`.
    typealias LayerAttention = (Int, HeadTensor<Float>, HeadTensor<Float16>, HeadTensor<Float16>, [Int]) throws(ModelError) -> HeadTensor<Float>

    /// The decoder over `tokens` at `start...`, attention by `attend`.
    func run(_ tokens: [Int], startingAt start: Int, attend: LayerAttention) throws(ModelError) -> HiddenStates {
        let started = ContinuousClock.now
        guard start >= 0 else { throw .invalidPositions("the first position is \(start); positions start at 0") }
        try checkTokens(tokens)
        let n = tokens.count
        let positions = Array(start..<start + n)
        var pass = DecoderPass(model: self, tokens: tokens, positions: positions)
        for l in 0..<hyperparameters.layerCount {
            pass.attentionInputs(layer: l)
            let (queries, keys, values) = pass.headTensors(rows: 0..<n)
            let attendStart = ContinuousClock.now
            let output = try attend(l, queries, keys, values, positions)
            pass.profile.attention += ContinuousClock.now - attendStart
            pass.setAttentionOutput(output, firstRow: 0)
            pass.finishLayer(l)
        }
        let h = pass.finish()
        pass.profile.total = ContinuousClock.now - started
        return HiddenStates(tokens: n, width: hyperparameters.embeddingLength, values: h, profile: pass.profile)
    }

    /// Refuses an empty token list or an id outside the vocabulary.
    func checkTokens(_ tokens: [Int]) throws(ModelError) {
        guard !tokens.isEmpty else { throw .noTokens }
        let v = hyperparameters.vocabularySize
        for (i, t) in tokens.enumerated() where !(0..<v).contains(t) {
            throw .tokenOutOfRange(token: t, index: i, vocabulary: v)
        }
    }
}
