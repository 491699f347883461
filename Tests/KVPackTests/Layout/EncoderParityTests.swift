@testable import KVPack
import KVPackTestSupport
import Testing

/// The C encoders write exactly the bytes of the Swift reference encoders.
@Suite("C encoders == Swift reference encoders")
struct EncoderParityTests {
    /// Rows mixing magnitudes, signs, exact ties, zeros (±0), subnormals and large values.
    static func rows(_ rows: Int, _ dim: Int, seed: UInt64) -> [Float16] {
        var rng = TestRandom(state: seed)
        return (0..<rows * dim).map { i in
            let s = rng.bits()
            let r = Int(s >> 58) // 0..63
            switch r {
            case 0: return 0
            case 1: return -0.0
            case 2: return Float16(bitPattern: UInt16(s >> 40 & 0x3FF)) // subnormal
            case 3: return 1.5 // ties
            case 4: return -1.5
            case 5: return Float16(Float(Int64(bitPattern: s) >> 48)) // large magnitudes (up to 32768)
            default: return Float16(Float(Int64(bitPattern: s) >> 40) / Float(1 << 23) * Float(1 + i % 7))
            }
        }
    }

    @Test("quantized rows", arguments: [(8, 32, false), (4, 32, false), (8, 16, true), (4, 16, true), (4, 64, false), (8, 7, true)])
    func quantized(bits: Int, group: Int, channel: Bool) {
        for (r, d, seed) in [(16, 64, 1 as UInt64), (13, 128, 2), (1, 64, 3), (40, 32, 4)] where channel || d % group == 0 {
            let v = Self.rows(r, d, seed: seed)
            let g = QuantizationGrouping(groupSize: group, axis: channel ? .channel : .token)
            let fast = QuantizedRows.encode(v, rows: r, dim: d, bits: bits, grouping: g)
            let reference = QuantizedRows.encodeReference(v, rows: r, dim: d, bits: bits, grouping: g)
            #expect(fast.payload.count == reference.payload.count)
            let diff = zip(fast.payload, reference.payload).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(diff == nil, "bits \(bits) group \(group) channel \(channel) rows \(r) dim \(d): first difference at byte \(diff!.offset)")
        }
    }

    @Test("bitmap rows", arguments: [0.0, 0.3, 0.5, 0.7, 0.99])
    func bitmap(sparsity: Double) {
        for (r, d, seed) in [(16, 64, 5 as UInt64), (9, 128, 6), (3, 256, 7), (5, 40, 8)] {
            let v = Self.rows(r, d, seed: seed)
            let fast = BitmapRows.encode(v, rows: r, dim: d, sparsity: sparsity)
            let reference = BitmapRows.encodeReference(v, rows: r, dim: d, sparsity: sparsity)
            #expect(fast.nonzeros == reference.nonzeros)
            let same = fast.payload.count == reference.payload.count && zip(fast.payload, reference.payload).allSatisfy { $0 == $1 }
            #expect(same, "sparsity \(sparsity) rows \(r) dim \(d)")
        }
    }
}
