import CKVPackHalf
import Foundation
import KVPack
import KVPackTestSupport

/// Every kernel level this CPU runs (0 = portable C, 1 = AVX2/F16C/FMA, 2 = AVX-512F).
let kernelLevels: [Int32] = Array(0...kvp_half_max_level())

/// A deliberately plain Double-precision attention, independent of the kernels under test.
func naiveAttention(queries: HeadTensor<Float>, keys: HeadTensor<Float16>, values: HeadTensor<Float16>,
                    visible: (Int, Int) -> Bool) -> [Double] {
    let d = keys.headDim, group = queries.heads / keys.heads
    var out = [Double](repeating: 0, count: queries.heads * queries.tokens * d)
    let scale = 1 / Double(d).squareRoot()
    for qh in 0..<queries.heads {
        let kh = qh / group
        for i in 0..<queries.tokens {
            var logits = [Double](repeating: -.infinity, count: keys.tokens)
            for t in 0..<keys.tokens where visible(i, t) {
                var dot = 0.0
                for c in 0..<d { dot += Double(queries[qh, i, c]) * Double(keys[kh, t, c]) }
                logits[t] = dot * scale
            }
            let m = logits.max()!
            let e = logits.map { $0 == -.infinity ? 0 : exp($0 - m) }
            let sum = e.reduce(0, +)
            for t in 0..<keys.tokens where e[t] > 0 {
                for c in 0..<d { out[(qh * queries.tokens + i) * d + c] += e[t] / sum * Double(values[kh, t, c]) }
            }
        }
    }
    return out
}

/// The shared seeded generator (KVPackTestSupport), under the name this target's files use.
typealias TestRandom = KVPackTestSupport.TestRandom
