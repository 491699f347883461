import Testing
@testable import KVPack

@Suite("Top indices by partial selection")
struct TopIndicesTests {
    /// The order `topIndices` promises, by a full sort: score down (-0 with +0), NaN last, index up.
    static func fullSort(_ scores: [Float], _ k: Int) -> [Int] {
        let order = scores.indices.sorted { a, b in
            let x = scores[a] == 0 ? 0 : scores[a], y = scores[b] == 0 ? 0 : scores[b]
            if x.isNaN != y.isNaN { return !x.isNaN }
            if !x.isNaN && x != y { return x > y }
            return a < b
        }
        return Array(order.prefix(max(0, k)))
    }

    /// Scores with many ties (a small palette), NaN, signed zeros and infinities, or smooth
    /// attention-like ones.
    static func scores(_ n: Int, seed: UInt64, ties: Bool) -> [Float] {
        var rng = TestRandom(seed)
        let palette: [Float] = [0, -0.0, 1, -1, 0.5, 2, .infinity, -.infinity, .nan, 3.25, -7]
        return (0..<n).map { _ in
            ties ? palette[Int(rng.next() * Double(palette.count))] : Float(rng.next() * rng.next())
        }
    }

    @Test("equal to a full sort: the one-pass scan (k <= 64, n >= 16k) and quickselect, ties, NaN, k past n",
          arguments: [10, 100, 1000, 5000, 32768], [0, 1, 8, 64, 65, 500, 40000])
    func property(n: Int, k: Int) {
        for ties in [true, false] {
            let s = Self.scores(n, seed: UInt64(n * 131 + k), ties: ties)
            #expect(topIndices(s, count: k) == Self.fullSort(s, k), "n \(n) k \(k) ties \(ties)")
            #expect(AttentionMetrics.topK(s[...], k: k) == Self.fullSort(s, k))
        }
    }
}
