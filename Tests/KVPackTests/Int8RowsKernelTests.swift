import CKVPackHalf
import Testing
import KVPackTestSupport

/// The int8 page kernels (`quant_dot.c`: codes read in fp32, or with the query rounded to int16
/// for integer products) against Double arithmetic on the same codes, scales and zeros, at every
/// kernel level.
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
          arguments: [(16, 128, 32, 4), (16, 64, 8, 3), (7, 256, 64, 9), (1, 64, 64, 1), (13, 128, 16, 5)], 
          [(Int32(0), false), (99, false), (0, true), (99, true)])
    func kernels(shape: (Int, Int, Int, Int), path: (level: Int32, integer: Bool)) {
        let (level, integer) = path
        let (rows, dim, g, nq) = shape
        kvp_half_set_level(level)
        defer { kvp_half_set_level(99) }
        var rng = TestRandom(UInt64(rows * dim + g + nq))
        let (payload, values) = Self.page(rows: rows, dim: dim, g: g, rng: &rng)
        let queries = (0..<nq * dim).map { _ in rng.normal() }
        #expect(kvp_int8_rows_supported(dim, g) == 1)
        let stride = rows + 3, scale: Float = 0.125
        var scores = [Float](repeating: .nan, count: nq * stride)
        if integer {
            let bytes = kvp_int8_queries_bytes(nq, dim, g)
            guard bytes > 0 else {
                #expect(g % 16 != 0, "the integer path refused groups of \(g)")
                return
            }
            let prepared = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 32)
            defer { prepared.deallocate() }
            kvp_int8_queries_prepare(queries, nq, dim, g, prepared)
            kvp_int8_rows_dot_prepared(payload, rows, dim, g, prepared, nq, scale, &scores, stride)
        } else {
            kvp_int8_rows_dot(payload, rows, dim, g, queries, nq, scale, &scores, stride)
        }
        let weights = (0..<nq * stride).map { _ in Float(rng.next()) }
        var acc = (0..<nq * dim).map { _ in rng.normal() }
        let start = acc
        kvp_int8_rows_accumulate(payload, rows, dim, g, weights, nq, stride, &acc)
        var worstScore = 0.0, worstSum = 0.0
        for q in 0..<nq {
            // The integer path rounds the query to int16 steps of max|q| / 32767: each element off
            // by at most half a step, so a score by at most that times Σ|k|.
            let step = Double(queries[q * dim..<(q + 1) * dim].map { abs($0) }.max()!) / 32767
            for r in 0..<rows {
                var dot = 0.0, magnitude = 0.0, keyMass = 0.0
                for c in 0..<dim {
                    dot += Double(queries[q * dim + c]) * values[r * dim + c]
                    magnitude += abs(Double(queries[q * dim + c]) * values[r * dim + c])
                    keyMass += abs(values[r * dim + c])
                }
                let bound = 1e-5 * magnitude + step / 2 * keyMass
                worstScore = max(worstScore, abs(Double(scores[q * stride + r]) - dot * Double(scale)) / (bound * Double(scale)))
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
        // fp32 sums: a few units of 2^-24 per term, relative to the sum of magnitudes; scores as a
        // share of their bound (fp32 terms and the query's int16 rounding).
        #expect(worstScore < 1, "scores: \(worstScore) of the bound")
        #expect(worstSum < 1e-5, "weighted sums: \(worstSum)")
    }

    @Test("layouts the kernels do not take are refused") func unsupported() {
        #expect(kvp_int8_rows_supported(128, 12) == 0)
        #expect(kvp_int8_rows_supported(100, 32) == 0)
        #expect(kvp_int8_rows_supported(128, 0) == 0)
        // The integer q·k: groups of a multiple of 16 channels up to 1024, dividing the row.
        #expect(kvp_int8_queries_bytes(4, 128, 8) == 0)
        #expect(kvp_int8_queries_bytes(4, 128, 48) == 0)
        #expect(kvp_int8_queries_bytes(4, 2048, 2048) == 0)
        #expect(kvp_int8_queries_bytes(0, 128, 32) == 0)
        #expect(kvp_int8_queries_bytes(4, 128, 32) > 0)
    }

    @Test("a query of zeros scores zero through the integer path") func zeroQuery() {
        var rng = TestRandom(7)
        let (payload, _) = Self.page(rows: 4, dim: 64, g: 32, rng: &rng)
        let queries = [Float](repeating: 0, count: 64)
        let prepared = UnsafeMutableRawPointer.allocate(byteCount: kvp_int8_queries_bytes(1, 64, 32), alignment: 32)
        defer { prepared.deallocate() }
        kvp_int8_queries_prepare(queries, 1, 64, 32, prepared)
        var scores = [Float](repeating: .nan, count: 4)
        kvp_int8_rows_dot_prepared(payload, 4, 64, 32, prepared, 1, 1, &scores, 4)
        #expect(scores == [0, 0, 0, 0])
    }
}
