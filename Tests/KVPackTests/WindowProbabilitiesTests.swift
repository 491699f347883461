import CKVPackHalf
@testable import KVPack
import KVPackTestSupport
import Testing

@Suite("Window probabilities")
struct WindowProbabilitiesTests {
    @Test("equal the dense reference's softmax rows (causal and sliding masks, ragged key counts)",
          arguments: [(64, 37, 3, 5, nil as Int?), (128, 1000, 4, 32, nil), (256, 300, 2, 7, 64), (16, 17, 1, 1, nil)])
    func matchesDense(d: Int, n: Int, heads: Int, tokens: Int, window: Int?) throws {
        var rng = TestRandom(state: UInt64(d * 31 + n))
        let keys = rng.signedHalves(n * d)
        let q = try HeadTensor<Float>(heads: heads, tokens: tokens, headDim: d, storage: rng.signedFloats(heads * tokens * d, scale: 3))
        let keyPositions = (0..<n).map { $0 * 2 } // gaps, as after eviction
        let queryPositions = (0..<tokens).map { 2 * n - tokens + $0 }
        let mine = try #require(try WindowProbabilities.compute(keys: keys, queries: q, keyPositions: keyPositions,
                                                            queryPositions: queryPositions, window: window))
        let kt = try HeadTensor(heads: 1, tokens: n, headDim: d, storage: keys)
        let mask = try AttentionMask(keyPositions: keyPositions, queryPositions: queryPositions, window: window)
        let dense = try DenseAttention.attend(queries: q, keys: kt, values: kt, mask: mask, keepProbabilities: true)
        let reference = try #require(dense.probabilities)
        #expect(mine.count == reference.count)
        let worst = maxAbsoluteDifference(mine, reference)
        #expect(worst < 1e-5, "max |difference| \(worst)")
    }

    /// A 16-core machine splits 4096 keys into 16 parts: 100 rows go in parts of 7, and a
    /// decode step's 3 rows (3 query heads, 1 token) over 2048 kept keys in parts of 1, so the
    /// last parts start past the last row (a range trap there stopped the needle sweep on the
    /// H100 machine at H2O's decode-time scores).
    @Test("more parts than row blocks: the same rows as one part",
          arguments: [(16, 4096, 4, 25), (64, 4096, 4, 25), (16, 2048, 3, 1)])
    func manyCores(cores: Int, n: Int, heads: Int, tokens: Int) throws {
        let d = 64
        var rng = TestRandom(state: 99)
        let keys = rng.signedHalves(n * d)
        let q = try HeadTensor<Float>(heads: heads, tokens: tokens, headDim: d, storage: rng.signedFloats(heads * tokens * d, scale: 3))
        let keyPositions = Array(0..<n), queryPositions = (0..<tokens).map { n - tokens + $0 }
        let one = try #require(try WindowProbabilities.compute(keys: keys, queries: q, keyPositions: keyPositions, queryPositions: queryPositions,
                                                           window: nil, scale: nil, cores: 1))
        let many = try #require(try WindowProbabilities.compute(keys: keys, queries: q, keyPositions: keyPositions, queryPositions: queryPositions,
                                                            window: nil, scale: nil, cores: cores))
        #expect(many == one)
    }

    @Test("the score micro-kernel equals float64 dot products at every kernel level (16- and 32-key tiles, ragged tails)",
          arguments: kernelLevels)
    func scoreKernel(level: Int32) {
        kvp_half_set_level(level)
        defer { kvp_half_set_level(99) }
        var rng = TestRandom(state: UInt64(level) + 7)
        for (n, d, m) in [(45, 64, 13), (32, 128, 8), (70, 256, 3), (5, 16, 9)] {
            let keys = rng.signedHalves(n * d)
            let q = rng.signedFloats(m * d, scale: 2)
            let stride = n + 3
            var out = [Float](repeating: .nan, count: m * stride)
            keys.withUnsafeBufferPointer { k in
                k.withMemoryRebound(to: UInt16.self) { bits in
                    kvp_window_scores(bits.baseAddress, n, d, q, m, 0.25, &out, stride)
                }
            }
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var dot = 0.0
                    for c in 0..<d { dot += Double(q[i * d + c]) * Double(keys[j * d + c]) }
                    worst = max(worst, abs(Double(out[i * stride + j]) - 0.25 * dot))
                }
                // Columns past n are not written.
                let tail = Array(out[i * stride + n ..< i * stride + stride])
                #expect(tail.allSatisfy { $0.isNaN })
            }
            #expect(worst < 1e-4, "n=\(n) d=\(d) m=\(m) level \(level): \(worst)")
        }
    }

    @Test("a query that sees no key gives nil")
    func noVisibleKey() throws {
        let q = try HeadTensor<Float>(heads: 1, tokens: 1, headDim: 4, storage: [1, 0, 0, 0])
        #expect(try WindowProbabilities.compute(keys: [Float16](repeating: 1, count: 8), queries: q, keyPositions: [5, 6], queryPositions: [3]) == nil)
    }

    @Test("keys, positions or a head dim that do not fit: typed errors")
    func badShapes() throws {
        let q = try HeadTensor<Float>(heads: 1, tokens: 1, headDim: 4, storage: [1, 0, 0, 0])
        #expect(throws: AttentionError.wrongShape(name: "keys", expected: [3, 4], found: [2, 4])) {
            try WindowProbabilities.compute(keys: [Float16](repeating: 1, count: 8), queries: q, keyPositions: [0, 1, 2], queryPositions: [3])
        }
        #expect(throws: AttentionError.wrongShape(name: "query positions", expected: [1], found: [2])) {
            try WindowProbabilities.compute(keys: [Float16](repeating: 1, count: 8), queries: q, keyPositions: [0, 1], queryPositions: [3, 4])
        }
        let wide = try HeadTensor<Float>(zeros: 1, 1, 520)
        #expect(throws: AttentionError.headDimTooLarge(520, limit: 512)) {
            try WindowProbabilities.compute(keys: [Float16](repeating: 1, count: 520), queries: wide, keyPositions: [0], queryPositions: [0])
        }
    }
}
