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
        let hp = hyperparameters
        guard !tokens.isEmpty else { throw .noTokens }
        guard start >= 0 else { throw .invalidPositions("the first position is \(start); positions start at 0") }
        for (i, t) in tokens.enumerated() where !(0..<hp.vocabularySize).contains(t) {
            throw .tokenOutOfRange(token: t, index: i, vocabulary: hp.vocabularySize)
        }
        let n = tokens.count, d = hp.embeddingLength, hd = hp.headDim
        let qw = hp.queryWidth, kw = hp.kvWidth, qkvWidth = qw + 2 * kw, ffn = hp.feedForwardLength
        let positions = Array(start..<start + n)
        var rotary: [Double: RotaryTable] = [:]
        for l in 0..<hp.layerCount where rotary[hp.ropeBase(layer: l)] == nil {
            rotary[hp.ropeBase(layer: l)] = RotaryTable(headDim: hd, base: hp.ropeBase(layer: l), positions: start..<start + n)
        }
        let activation: GatedActivation = hp.architecture == .gemma3 ? .geluTanh : .silu
        var profile = ForwardProfile()

        var h = embed(tokens)
        var x = [Float](repeating: 0, count: n * d)
        var qkv = [Float](repeating: 0, count: n * qkvWidth)
        var attention = [Float](repeating: 0, count: n * qw)
        var gateUp = [Float](repeating: 0, count: n * 2 * ffn)
        var gated = [Float](repeating: 0, count: n * ffn)

        for (l, w) in weights.layers.enumerated() {
            // Attention block: norm, fused QKV product, (QK-norm), RoPE, the session, output product.
            Self.normalize(h, with: w.attentionNorm, rows: n, into: &x)
            Self.project(x, through: w.queryKeyValue, rows: n, into: &qkv, profile: &profile)
            let table = rotary[hp.ropeBase(layer: l)]!
            qkv.withUnsafeMutableBufferPointer { qb in
                let base = qb.baseAddress!
                if let qn = w.queryNorm, let kn = w.keyNorm {
                    for t in 0..<n {
                        let row = base + t * qkvWidth
                        qn.apply(row, rows: hp.queryHeads, into: row)
                        kn.apply(row + qw, rows: hp.kvHeads, into: row + qw)
                    }
                }
                table.apply(base, tokens: n, heads: hp.queryHeads, tokenStride: qkvWidth)
                table.apply(base + qw, tokens: n, heads: hp.kvHeads, tokenStride: qkvWidth)
            }
            let queries = HeadTensor(gathering: qkv, tokens: n, stride: qkvWidth, offset: 0, heads: hp.queryHeads, headDim: hd)
            let keys = HeadTensor(gathering: qkv, tokens: n, stride: qkvWidth, offset: qw, heads: hp.kvHeads, headDim: hd).halves()
            let values = HeadTensor(gathering: qkv, tokens: n, stride: qkvWidth, offset: qw + kw, heads: hp.kvHeads, headDim: hd).halves()
            let attendStart = ContinuousClock.now
            let output = try attend(l, queries, keys, values, positions)
            profile.attention += ContinuousClock.now - attendStart
            output.writeTokenRows(into: &attention)
            Self.project(attention, through: w.attentionOutput, rows: n, into: &x, then: w.postAttentionNorm, profile: &profile)
            Self.add(x, to: &h)

            // MLP block: norm, fused gate/up product, gated activation, down product.
            Self.normalize(h, with: w.feedForwardNorm, rows: n, into: &x)
            Self.project(x, through: w.gateUp, rows: n, into: &gateUp, profile: &profile)
            gateUp.withUnsafeBufferPointer { gb in gated.withUnsafeMutableBufferPointer { ob in
                activation.apply(gateUp: gb.baseAddress!, rows: n, width: ffn, into: ob.baseAddress!)
            } }
            Self.project(gated, through: w.down, rows: n, into: &x, then: w.postFeedForwardNorm, profile: &profile)
            Self.add(x, to: &h)
        }
        h.withUnsafeMutableBufferPointer { hb in weights.outputNorm.apply(hb.baseAddress!, rows: n, into: hb.baseAddress!) }
        profile.total = ContinuousClock.now - started
        return HiddenStates(tokens: n, width: d, values: h, profile: profile)
    }

    /// `output = norm(input)`, `rows` rows.
    private static func normalize(_ input: [Float], with norm: RMSNorm, rows: Int, into output: inout [Float]) {
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in norm.apply(i.baseAddress!, rows: rows, into: o.baseAddress!) }
        }
    }

    /// `output = input · mᵀ` for `rows` rows (timed into `profile`), then `norm` in place when given.
    private static func project(_ input: [Float], through m: WeightMatrix, rows: Int, into output: inout [Float],
                                then norm: RMSNorm? = nil, profile: inout ForwardProfile) {
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                profile.timeProduct(m, rows: rows) { m.apply(i.baseAddress!, rows: rows, into: o.baseAddress!) }
                norm?.apply(o.baseAddress!, rows: rows, into: o.baseAddress!)
            }
        }
    }

    /// `[tokens, d]` embeddings of `tokens`, times the architecture's embedding scale.
    private func embed(_ tokens: [Int]) -> [Float] {
        let d = hyperparameters.embeddingLength, scale = hyperparameters.embeddingScale
        var h = [Float](repeating: 0, count: tokens.count * d)
        weights.embedding.values.withUnsafeBufferPointer { e in
            h.withUnsafeMutableBufferPointer { hb in
                for (t, id) in tokens.enumerated() {
                    let src = e.baseAddress! + id * d, dst = hb.baseAddress! + t * d
                    if scale == 1 {
                        dst.update(from: src, count: d)
                    } else {
                        for i in 0..<d { dst[i] = src[i] * scale }
                    }
                }
            }
        }
        return h
    }

    /// `h += x`, elementwise.
    private static func add(_ x: [Float], to h: inout [Float]) {
        x.withUnsafeBufferPointer { xb in
            h.withUnsafeMutableBufferPointer { hb in
                for i in 0..<hb.count { hb[i] += xb[i] }
            }
        }
    }
}
