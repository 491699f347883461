import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// A cache of `sequences` sequences of one layer, with `plan(sequence, head)` giving the kept
/// tokens and their (key, value) encodings per KV head.
struct DecodeFixture {
    typealias Plan = (kept: [Int], encodings: [(PageEncoding, PageEncoding)])
    let cache: CompressedCache
    var queries: [Float]   // [sequences, qHeads, d]

    init(qHeads: Int, kvHeads: Int, d: Int, tokens: Int, sequences: Int, pageSize: Int = 16, seed: UInt64 = 1,
         keySparsity: Double = 0.5, valueSparsity: Double = 0.7, plan: (Int, Int) -> Plan) throws {
        var rng = TestRandom(state: (seed &+ UInt64(qHeads * 131 + d * 7 + tokens)) &* 0x9E37_79B9_7F4A_7C15 | 1)
        let model = try ModelFacts(name: "fixture", queryHeads: qHeads, kvHeads: kvHeads, headDim: d, layerKinds: [.global])
        var seqs: [CompressedSequence] = []
        for s in 0..<sequences {
            let keys = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: d, storage: rng.signedHalves(kvHeads * tokens * d))
            let values = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: d, storage: rng.signedHalves(kvHeads * tokens * d))
            var heads: [HeadPages] = []
            for h in 0..<kvHeads {
                let p = plan(s, h)
                heads.append(try HeadPages.pack(keys: keys, values: values, head: h, kept: p.kept, positions: Array(0..<tokens),
                                                encodings: p.encodings, pageSize: pageSize, keySparsity: keySparsity, valueSparsity: valueSparsity))
            }
            seqs.append(CompressedSequence(id: "\(s)", originalTokens: tokens, layers: [heads]))
        }
        cache = try CompressedCache(model: model, pageSize: pageSize, policy: "fixture", sequences: seqs)
        queries = rng.signedFloats(sequences * qHeads * d, scale: 4)
    }

    /// The CPU ground truth, `[sequences, qHeads, d]`, masked like `mask` when given.
    func expected(mask: DecodeMask? = nil) throws -> [Float] {
        let m = cache.model
        var out: [Float] = []
        for (s, seq) in cache.sequences.enumerated() {
            let n = m.queryHeads * m.headDim
            let q = try HeadTensor(heads: m.queryHeads, tokens: 1, headDim: m.headDim, storage: Array(queries[s * n..<(s + 1) * n]))
            out += try CompressedAttention.attend(queries: q, heads: seq.layers[0], queryPositions: mask.map { [$0.queryPositions[s]] },
                                                  window: mask?.window).storage
        }
        return out
    }

    /// Largest relative L2 error of any (sequence, query head) output vector; infinity when one is
    /// NaN (a NaN output must fail a bound, not vanish in `max`).
    static func worstError(_ got: [Float], _ expected: [Float], d: Int) throws -> Double {
        try AttentionMetrics.worstRelativeL2(reference: expected, approximation: got, length: d)
    }
}

extension DecodeFixture {
    /// Two sequences of 45 tokens, `qHeads` query heads over 2 KV heads, KV head h keeping its
    /// first 45 - `shrink`·h tokens (page tails the page size does not divide, ragged heads), each
    /// kept token's key and value in `key` / `value`.
    static func ragged(_ key: PageEncoding, _ value: PageEncoding, d: Int = 128, qHeads: Int = 8, shrink: Int = 11,
                       pageSize: Int = 16, keySparsity: Double = 0.5, valueSparsity: Double = 0.7) throws -> DecodeFixture {
        try DecodeFixture(qHeads: qHeads, kvHeads: 2, d: d, tokens: 45, sequences: 2, pageSize: pageSize,
                          keySparsity: keySparsity, valueSparsity: valueSparsity) { _, h in
            (Array(0..<(45 - shrink * h)), Array(repeating: (key, value), count: 45 - shrink * h))
        }
    }
}

extension DecodeFixture {
    /// The text of the `VulkanError.unsupported` that refuses a decode call with `options` over
    /// this fixture on `context`; nil, with an issue recorded, when the call is not refused so.
    func refusal(_ context: VulkanContext, options: DecodeOptions, sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
        let device = try DeviceKVCache(context, flat: cache.flattened())
        let result = Result { () throws(VulkanError) in
            try VulkanDecodeAttention(context: context).attend(device, queries: queries, options: options)
        }
        guard case .failure(.unsupported(let why)) = result else {
            Issue.record("expected VulkanError.unsupported, got \(result)", sourceLocation: sourceLocation)
            return nil
        }
        return why
    }
}
