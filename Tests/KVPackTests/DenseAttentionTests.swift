import CKVPackHalf
import Foundation
import Testing
@testable import KVPack

@Suite("Dense reference attention")
struct DenseAttentionTests {
    @Test("hand-worked: two keys with logits 0 and ln 3 give weights 1/4 and 3/4")
    func handWorked() throws {
        let q = try HeadTensor<Float>(heads: 1, tokens: 1, headDim: 2, storage: [Float(log(3.0)), 0])
        let k = try HeadTensor<Float16>(heads: 1, tokens: 2, headDim: 2, storage: [0, 0, 1, 0])
        let v = try HeadTensor<Float16>(heads: 1, tokens: 2, headDim: 2, storage: [4, 0, 0, 8])
        let r = try DenseAttention.attend(queries: q, keys: k, values: v, scale: 1, keepProbabilities: true)
        #expect(abs(r.output.storage[0] - 1) < 1e-5)
        #expect(abs(r.output.storage[1] - 6) < 1e-5)
        let p = Array(r.probabilityRow(head: 0, query: 0)!)
        #expect(abs(p[0] - 0.25) < 1e-6 && abs(p[1] - 0.75) < 1e-6)
    }

    @Test("hand-worked GQA: both query heads of a group read their own KV head")
    func handWorkedGQA() throws {
        // 2 KV heads, 4 query heads: heads 0,1 -> KV 0 (values all 1), heads 2,3 -> KV 1 (values all 5).
        let q = try HeadTensor<Float>(heads: 4, tokens: 1, headDim: 2, storage: [Float](repeating: 0.5, count: 8))
        let k = try HeadTensor<Float16>(heads: 2, tokens: 3, headDim: 2, storage: [Float16](repeating: 1, count: 12))
        let v = try HeadTensor<Float16>(heads: 2, tokens: 3, headDim: 2, storage: [1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5])
        let out = try DenseAttention.attend(queries: q, keys: k, values: v).output.storage
        let expected: [Float] = [1, 1, 1, 1, 5, 5, 5, 5]
        #expect(zip(out, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(out)")
    }

    @Test("matches a plain Double implementation", arguments: [
        (1, 1, 64, 37, 1), (4, 4, 64, 100, 3), (8, 2, 128, 257, 2), (32, 4, 128, 65, 1), (8, 1, 256, 130, 5),
        (6, 3, 12, 19, 4), // head dim not a multiple of 8: portable tail paths
    ])
    func matchesNaive(shape: (Int, Int, Int, Int, Int)) throws {
        let (qHeads, kvHeads, d, tokens, n) = shape
        var rng = TestRandom(UInt64(qHeads * 1000 + d + tokens))
        let q = rng.floats(qHeads, n, d, scale: 2), k = rng.halves(kvHeads, tokens, d), v = rng.halves(kvHeads, tokens, d)
        let expected = naiveAttention(queries: q, keys: k, values: v) { _, _ in true }
        for level in kernelLevels {
            kvp_half_set_level(level)
            defer { kvp_half_set_level(99) }
            let got = try DenseAttention.attend(queries: q, keys: k, values: v).output.storage
            let err = try AttentionMetrics.relativeL2(reference: expected.map(Float.init), approximation: got)
            #expect(err < 1e-5, "level \(level): rel. L2 \(err)")
        }
    }

    @Test("causal and sliding-window masks follow positions", arguments: [nil, 5] as [Int?])
    func maskedMatchesNaive(window: Int?) throws {
        var rng = TestRandom(7)
        let tokens = 40, n = 6, d = 64
        let q = rng.floats(4, n, d), k = rng.halves(2, tokens, d), v = rng.halves(2, tokens, d)
        let keyPositions = Array(stride(from: 0, to: 2 * tokens, by: 2)) // 0, 2, ..., 78
        let queryPositions = [3, 10, 11, 40, 77, 80]
        let mask = try AttentionMask(keyPositions: keyPositions, queryPositions: queryPositions, window: window)
        let expected = naiveAttention(queries: q, keys: k, values: v) { i, t in
            let p = keyPositions[t], qp = queryPositions[i]
            return p <= qp && (window.map { p > qp - $0 } ?? true)
        }
        let r = try DenseAttention.attend(queries: q, keys: k, values: v, mask: mask, keepProbabilities: true)
        #expect(try AttentionMetrics.relativeL2(reference: expected.map(Float.init), approximation: r.output.storage) < 1e-5)
        // Masked keys have probability exactly 0; each row sums to 1.
        for i in 0..<n {
            let row = Array(r.probabilityRow(head: 0, query: i)!)
            let visible = mask.visibleKeys(query: i)
            #expect(row.indices.filter { !visible.contains($0) }.allSatisfy { row[$0] == 0 })
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
        }
    }

    @Test("visible key ranges, worked by hand")
    func visibleRanges() throws {
        let mask = try AttentionMask(keyPositions: [0, 1, 2, 5, 9], queryPositions: [0, 4, 9, 100], window: 4)
        #expect(mask.visibleKeys(query: 0) == 0..<1)   // sees position 0
        #expect(mask.visibleKeys(query: 1) == 1..<3)   // window (0, 4]: positions 1, 2
        #expect(mask.visibleKeys(query: 2) == 4..<5)   // window (5, 9]: position 9
        #expect(mask.visibleKeys(query: 3).isEmpty)    // window (96, 100]: nothing
        let causal = try AttentionMask(keyPositions: [0, 1, 2, 5, 9], queryPositions: [4])
        #expect(causal.visibleKeys(query: 0) == 0..<3)
    }

    @Test("inputs that do not fit give typed errors")
    func errors() throws {
        var rng = TestRandom(1)
        let k = rng.halves(2, 4, 8), v = rng.halves(2, 4, 8)
        #expect(throws: AttentionError.headDimMismatch(queries: 16, keys: 8)) {
            try DenseAttention.attend(queries: rng.floats(2, 1, 16), keys: k, values: v)
        }
        #expect(throws: AttentionError.headsNotGrouped(queryHeads: 3, kvHeads: 2)) {
            try DenseAttention.attend(queries: rng.floats(3, 1, 8), keys: k, values: v)
        }
        #expect(throws: AttentionError.keysValuesMismatch(keys: [2, 4, 8], values: [2, 3, 8])) {
            try DenseAttention.attend(queries: rng.floats(2, 1, 8), keys: k, values: rng.halves(2, 3, 8))
        }
        #expect(throws: AttentionError.noKeys) {
            try DenseAttention.attend(queries: rng.floats(2, 1, 8), keys: rng.halves(2, 0, 8), values: rng.halves(2, 0, 8))
        }
        let late = try AttentionMask(keyPositions: [5, 6, 7, 8], queryPositions: [2])
        #expect(throws: AttentionError.noVisibleKeys(query: 0, position: 2)) {
            try DenseAttention.attend(queries: rng.floats(2, 1, 8), keys: k, values: v, mask: late)
        }
        #expect(throws: AttentionError.self) { try AttentionMask(keyPositions: [0, 2, 2], queryPositions: [3]) }
    }
}

@Suite("Degenerate attention inputs")
struct DegenerateAttentionTests {
    @Test("zero query tokens give an empty output, not a crash")
    func noQueries() throws {
        var rng = TestRandom(3)
        let r = try DenseAttention.attend(queries: HeadTensor(zeros: 4, 0, 8), keys: rng.halves(2, 5, 8), values: rng.halves(2, 5, 8),
                                          keepProbabilities: true)
        #expect(r.output.tokens == 0 && r.probabilities == [])
    }
}
