import Testing
@testable import KVPack
import KVPackTestSupport

@Suite("CPU attention over compressed pages")
struct CompressedAttentionTests {
    static let int8t = PageEncoding.int8(.init(groupSize: 32))
    static let int4c = PageEncoding.int4(.init(groupSize: 16, axis: .channel))
    static let int4t = PageEncoding.int4(.init(groupSize: 64))

    /// Per KV head: which tokens are kept, and each kept token's (key, value) encoding.
    typealias HeadPlan = (kept: [Int], encodings: [(PageEncoding, PageEncoding)])

    /// Compressed attention vs the dense reference run on each head's decompressed rows.
    func check(qHeads: Int, kvHeads: Int, d: Int, tokens: Int, pageSize: Int, queries n: Int = 1, causal: Bool = false,
               plan: (Int) -> HeadPlan) throws {
        var rng = TestRandom(UInt64(qHeads * 31 + d + tokens))
        let keys = rng.halves(kvHeads, tokens, d), values = rng.halves(kvHeads, tokens, d)
        let queries = rng.floats(qHeads, n, d, scale: 1.5)
        let positions = Array(0..<tokens).map { $0 * 2 }
        var heads: [HeadPages] = []
        for h in 0..<kvHeads {
            let p = plan(h)
            heads.append(try HeadPages.pack(keys: keys, values: values, head: h, kept: p.kept, positions: positions,
                                            encodings: p.encodings, pageSize: pageSize, keySparsity: 0.5, valueSparsity: 0.7))
        }
        let queryPositions: [Int]? = causal ? (0..<n).map { 2 * tokens - 2 * n + 2 * $0 } : nil
        let got = try CompressedAttention.attend(queries: queries, heads: heads, queryPositions: queryPositions)
        let group = qHeads / kvHeads
        for h in 0..<kvHeads {
            let (pos, k, v) = heads[h].decoded()
            let kt = try HeadTensor(heads: 1, tokens: pos.count, headDim: d, storage: k)
            let vt = try HeadTensor(heads: 1, tokens: pos.count, headDim: d, storage: v)
            let qh = try HeadTensor(heads: group, tokens: n, headDim: d,
                                    storage: Array(queries.storage[h * group * n * d..<(h + 1) * group * n * d]))
            let mask = try queryPositions.map { try AttentionMask(keyPositions: pos, queryPositions: $0) }
            let expected = try DenseAttention.attend(queries: qh, keys: kt, values: vt, mask: mask).output.storage
            let mine = Array(got.storage[h * group * n * d..<(h + 1) * group * n * d])
            let err = try AttentionMetrics.relativeL2(reference: expected, approximation: mine)
            #expect(err < 1e-3, "head \(h): rel. L2 \(err)")
        }
    }

    static let uniformEncodings: [(PageEncoding, PageEncoding)] = [
        (.f16, .f16), (int8t, int8t), (int4c, int4t), (.bitmap, .bitmap), (int8t, .bitmap), (int4c, .f16),
    ]

    @Test("every encoding, all tokens kept", arguments: uniformEncodings.indices)
    func uniform(index: Int) throws {
        let enc = Self.uniformEncodings[index]
        for (qh, kv, d) in [(8, 2, 64), (32, 4, 128), (4, 4, 256)] {
            try check(qHeads: qh, kvHeads: kv, d: d, tokens: 45, pageSize: 16) { _ in
                (Array(0..<45), Array(repeating: enc, count: 45))
            }
        }
    }

    @Test("mixed encodings in one head (ARKV-style tiers), ragged and one-token heads, GQA 8, causal probes")
    func mixedRagged() throws {
        let tiers: [(PageEncoding, PageEncoding)] = [(.f16, .f16), (Self.int8t, Self.int8t), (Self.int4c, Self.int4t), (.bitmap, .bitmap)]
        try check(qHeads: 16, kvHeads: 2, d: 128, tokens: 70, pageSize: 7, queries: 3, causal: true) { h in
            h == 0
                ? (Array(stride(from: 0, to: 70, by: 1)), (0..<70).map { tiers[($0 / 5) % 4] })
                : ([0, 33, 69], [tiers[0], tiers[3], tiers[1]])
        }
        try check(qHeads: 4, kvHeads: 4, d: 64, tokens: 30, pageSize: 16) { h in
            h == 3 ? ([17], [(.bitmap, .f16)]) : (Array(0..<(10 * h + 5)), Array(repeating: tiers[h], count: 10 * h + 5))
        }
    }

    @Test("empty heads are refused when the cache is built, and by attention")
    func emptyHeads() throws {
        let facts = try ModelFacts(name: "t", queryHeads: 2, kvHeads: 1, headDim: 64, layerKinds: [.global])
        let empty = try HeadPages(pages: [])
        #expect(throws: LayoutError.emptyHead(sequence: 0, layer: 0, head: 0)) {
            try CompressedCache(model: facts, policy: "test", sequences: [CompressedSequence(id: "0", originalTokens: 4, layers: [[empty]])])
        }
        var rng = TestRandom(1)
        #expect(throws: AttentionError.noKeys) {
            try CompressedAttention.attend(queries: rng.floats(2, 1, 64), heads: [empty])
        }
    }

    @Test("byte accounting, worked by hand")
    func byteAccounting() throws {
        // 1 layer, 1 KV head, d 64, 20 tokens, pages of 16 (16 + 4 tokens), f16 keys and values:
        // directory 8 + page 1 (32 + 16*4 + 2 * 16*64*2) + page 2 (32 + 4*4 + 2 * 4*64*2) = 5272.
        let capture = try randomCapture(tokens: 20, d: 64, seed: 5)
        let dense = try CompressedCache.uniform(capture, keys: .f16, values: .f16)
        #expect(dense.byteCount == 5272)
        #expect(dense.denseByteCount == 2 * 2 * 20 * 64)
        #expect(abs(dense.ratio - 5272.0 / 5120.0) < 1e-12)
        // int4 token groups of 32 for both: payload per page of n rows: n*32 codes + n*2 groups*4 B = 40n.
        let q4 = try CompressedCache.uniform(capture, keys: .int4(.init(groupSize: 32)), values: .int4(.init(groupSize: 32)))
        #expect(q4.byteCount == 8 + (32 + 64 + 2 * 40 * 16) + (32 + 16 + 2 * 40 * 4))
        #expect(q4.payloadBytesByEncoding == [.int4: 2 * 40 * 20])
    }
}
