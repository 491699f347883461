import CKVPackHalf
import Testing
import KVPackTestSupport

/// The int8 page kernels (codes read in fp32, `quant_dot.c`) against Double arithmetic on the
/// same codes, scales and zeros, at every kernel level.
@Suite("int8 page kernels", .serialized)
struct Int8RowsKernelTests {
    /// A page payload: `[rows, dim]` codes, then an f16 scale and zero per group of `g` channels
    /// of a row; and its values `code * scale + zero` in Double.
    static func page(rows: Int, dim: Int, g: Int, rng: inout TestRandom) -> (payload: [UInt8], values: [Double]) {
        var codes = (0..<rows * dim).map { _ in UInt8(rng.bits() & 0xFF) }
        codes[0] = 255
        var params: [UInt8] = [], values = [Double](repeating: 0, count: rows * dim)
        for r in 0..<rows {
            for k in 0..<dim / g {
                let s = Float16(rng.next() * 0.05 + 0.001), z = Float16(rng.signed() * 2)
                for half in [s, z] { params += [UInt8(half.bitPattern & 0xFF), UInt8(half.bitPattern >> 8)] }
                for c in k * g..<(k + 1) * g { values[r * dim + c] = Double(codes[r * dim + c]) * Double(s) + Double(z) }
            }
        }
        return (codes + params, values)
    }

    @Test("scores and weighted sums of int8 pages match Double arithmetic",
          arguments: [(16, 128, 32, 4), (16, 64, 8, 3), (7, 256, 64, 9), (1, 64, 64, 1), (13, 128, 16, 5)], [Int32(0), 99])
    func kernels(shape: (Int, Int, Int, Int), level: Int32) {
        let (rows, dim, g, nq) = shape
        kvp_half_set_level(level)
        defer { kvp_half_set_level(99) }
        var rng = TestRandom(UInt64(rows * dim + g + nq))
        let (payload, values) = Self.page(rows: rows, dim: dim, g: g, rng: &rng)
        let queries = (0..<nq * dim).map { _ in rng.normal() }
        #expect(kvp_int8_rows_supported(dim, g) == 1)
        let stride = rows + 3, scale: Float = 0.125
        var scores = [Float](repeating: .nan, count: nq * stride)
        kvp_int8_rows_dot(payload, rows, dim, g, queries, nq, scale, &scores, stride)
        let weights = (0..<nq * stride).map { _ in Float(rng.next()) }
        var acc = (0..<nq * dim).map { _ in rng.normal() }
        let start = acc
        kvp_int8_rows_accumulate(payload, rows, dim, g, weights, nq, stride, &acc)
        var worstScore = 0.0, worstSum = 0.0
        for q in 0..<nq {
            for r in 0..<rows {
                var dot = 0.0, magnitude = 0.0
                for c in 0..<dim {
                    dot += Double(queries[q * dim + c]) * values[r * dim + c]
                    magnitude += abs(Double(queries[q * dim + c]) * values[r * dim + c])
                }
                worstScore = max(worstScore, abs(Double(scores[q * stride + r]) - dot * Double(scale)) / (magnitude * Double(scale)))
            }
            for c in 0..<dim {
                var sum = Double(start[q * dim + c]), magnitude = abs(sum)
                for r in 0..<rows {
                    sum += Double(weights[q * stride + r]) * values[r * dim + c]
                    magnitude += abs(Double(weights[q * stride + r]) * values[r * dim + c])
                }
                worstSum = max(worstSum, abs(Double(acc[q * dim + c]) - sum) / magnitude)
            }
        }
        // fp32 sums: a few units of 2^-24 per term, relative to the sum of magnitudes.
        #expect(worstScore < 1e-5, "scores: \(worstScore)")
        #expect(worstSum < 1e-5, "weighted sums: \(worstSum)")
    }

    @Test("layouts the kernels do not take are refused") func unsupported() {
        #expect(kvp_int8_rows_supported(128, 12) == 0)
        #expect(kvp_int8_rows_supported(100, 32) == 0)
        #expect(kvp_int8_rows_supported(128, 0) == 0)
    }
}
