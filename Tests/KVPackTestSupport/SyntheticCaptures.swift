import KVPack

/// A one-sequence capture built from closures: `key(h, t, c)`, `value(h, t, c)` over prompt and
/// probe tokens (probe tokens continue the token index), `query(qh, i, c)` over window then probe
/// queries. Every layer holds the same tensors.
public func syntheticCapture(tokens: Int, probes: Int = 0, qHeads: Int = 1, kvHeads: Int = 1, d: Int = 4, window: Int = 0,
                             layers: [AttentionKind] = [.global],
                             key: (Int, Int, Int) -> Float, value: (Int, Int, Int) -> Float,
                             query: (Int, Int, Int) -> Float = { _, _, _ in 0 }) throws -> Capture {
    let facts = try ModelFacts(name: "t", queryHeads: qHeads, kvHeads: kvHeads, headDim: d, layerKinds: layers)
    func kv(_ f: (Int, Int, Int) -> Float, _ range: Range<Int>) throws -> HeadTensor<Float16> {
        var t = try HeadTensor<Float16>(zeros: kvHeads, range.count, d)
        for h in 0..<kvHeads { for (i, tok) in range.enumerated() { for c in 0..<d { t[h, i, c] = Float16(f(h, tok, c)) } } }
        return t
    }
    func q(_ range: Range<Int>) throws -> HeadTensor<Float16> {
        var t = try HeadTensor<Float16>(zeros: qHeads, range.count, d)
        for h in 0..<qHeads { for (i, row) in range.enumerated() { for c in 0..<d { t[h, i, c] = Float16(query(h, row, c)) } } }
        return t
    }
    let layer = try LayerCapture(keys: kv(key, 0..<tokens), values: kv(value, 0..<tokens), queries: q(0..<window),
                             probeQueries: probes > 0 ? q(window..<window + probes) : nil,
                             probeKeys: probes > 0 ? kv(key, tokens..<tokens + probes) : nil,
                             probeValues: probes > 0 ? kv(value, tokens..<tokens + probes) : nil)
    let seq = try SequenceCapture(id: "0", facts: facts, positions: try .contiguous(tokens: tokens, window: window, probes: probes),
                                  layers: Array(repeating: layer, count: layers.count))
    return try Capture(model: facts, sequences: [seq])
}

/// A one-sequence capture of normal random tensors from `TestRandom(seed)`, drawn layer by layer
/// (keys, values, then window queries and probe queries, keys and values when asked for).
public func randomCapture(tokens: Int, qHeads: Int = 1, kvHeads: Int = 1, d: Int, layers: [AttentionKind] = [.global],
                          window: Int = 0, probes: Int = 0, ropeTheta: Double? = nil, queryScale: Float = 1,
                          seed: UInt64) throws -> Capture {
    var rng = TestRandom(seed)
    let facts = try ModelFacts(name: "fixture", queryHeads: qHeads, kvHeads: kvHeads, headDim: d, ropeTheta: ropeTheta,
                               layerKinds: layers)
    let layerCaptures = try layers.map { _ in
        let keys = rng.halves(kvHeads, tokens, d), values = rng.halves(kvHeads, tokens, d)
        let queries = window > 0 ? rng.halves(qHeads, window, d, scale: queryScale) : try HeadTensor(zeros: qHeads, 0, d)
        guard probes > 0 else { return LayerCapture(keys: keys, values: values, queries: queries) }
        return LayerCapture(keys: keys, values: values, queries: queries, probeQueries: rng.halves(qHeads, probes, d, scale: queryScale),
                            probeKeys: rng.halves(kvHeads, probes, d), probeValues: rng.halves(kvHeads, probes, d))
    }
    let seq = try SequenceCapture(id: "0", facts: facts, positions: try .contiguous(tokens: tokens, window: window, probes: probes),
                                  layers: layerCaptures)
    return try Capture(model: facts, sequences: [seq])
}
