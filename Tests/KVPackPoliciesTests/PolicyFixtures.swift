import KVPack
@testable import KVPackPolicies

/// A capture built from closures: `key(h, t, c)`, `value(h, t, c)` over prompt and probe tokens
/// (probe tokens continue the token index), `query(qh, i, c)` over window then probe queries.
func syntheticCapture(tokens: Int, probes: Int = 0, qHeads: Int = 1, kvHeads: Int = 1, d: Int = 4, window: Int = 0,
                      layers: [AttentionKind] = [.global],
                      key: (Int, Int, Int) -> Float, value: (Int, Int, Int) -> Float,
                      query: (Int, Int, Int) -> Float = { _, _, _ in 0 }) throws -> Capture {
    let facts = try ModelFacts(name: "t", queryHeads: qHeads, kvHeads: kvHeads, headDim: d, layerKinds: layers)
    func kv(_ f: (Int, Int, Int) -> Float, _ range: Range<Int>) -> HeadTensor<Float16> {
        var t = HeadTensor<Float16>(zeros: kvHeads, range.count, d)
        for h in 0..<kvHeads { for (i, tok) in range.enumerated() { for c in 0..<d { t[h, i, c] = Float16(f(h, tok, c)) } } }
        return t
    }
    func q(_ range: Range<Int>) -> HeadTensor<Float16> {
        var t = HeadTensor<Float16>(zeros: qHeads, range.count, d)
        for h in 0..<qHeads { for (i, row) in range.enumerated() { for c in 0..<d { t[h, i, c] = Float16(query(h, row, c)) } } }
        return t
    }
    let layer = LayerCapture(keys: kv(key, 0..<tokens), values: kv(value, 0..<tokens), queries: q(0..<window),
                             probeQueries: probes > 0 ? q(window..<window + probes) : nil,
                             probeKeys: probes > 0 ? kv(key, tokens..<tokens + probes) : nil,
                             probeValues: probes > 0 ? kv(value, tokens..<tokens + probes) : nil)
    let seq = try SequenceCapture(id: "0", facts: facts, positions: .contiguous(tokens: tokens, window: window, probes: probes),
                                  layers: Array(repeating: layer, count: layers.count))
    return try Capture(model: facts, sequences: [seq])
}

/// A seeded pseudo-random value in [-1, 1) for (a, b, c, seed).
func noise(_ a: Int, _ b: Int, _ c: Int = 0, seed: Int = 1) -> Float {
    var x = UInt64(truncatingIfNeeded: a &* 73_856_093 ^ b &* 19_349_663 ^ c &* 83_492_791 ^ seed &* 2_654_435_761)
    x ^= x >> 33; x &*= 0xff51afd7ed558ccd; x ^= x >> 33; x &*= 0xc4ceb9fe1a85ec53; x ^= x >> 33
    return Float(x >> 40) / Float(1 << 23) - 1
}
