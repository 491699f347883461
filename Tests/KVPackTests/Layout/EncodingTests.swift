import Testing
@testable import KVPack

@Suite("Row encodings")
struct EncodingTests {
    static func randomRows(_ rows: Int, _ dim: Int, seed: UInt64, scale: Float = 2) -> [Float16] {
        var rng = TestRandom(seed)
        var v = (0..<rows * dim).map { _ in Float16(rng.normal() * scale) }
        if dim > 3 { for r in 0..<rows { v[r * dim + 3] = Float16(12 + Float(r)) } } // an outlier channel
        return v
    }

    @Test("f16 round-trips exactly")
    func f16() throws {
        let v = Self.randomRows(9, 64, seed: 1)
        let e = try EncodedRows.encode(v, rows: 9, dim: 64, as: .f16)
        #expect(e.decode() == v && e.byteCount == 2 * 9 * 64)
    }

    static let quantCases: [PageEncoding] = [
        .int8(.init(groupSize: 32)), .int8(.init(groupSize: 64)), .int8(.init(groupSize: 16, axis: .channel)),
        .int4(.init(groupSize: 32)), .int4(.init(groupSize: 128)), .int4(.init(groupSize: 16, axis: .channel)),
        .int4(.init(groupSize: 5, axis: .channel)),
    ]

    @Test("int8/int4 round-trip within half a quantization step", arguments: quantCases)
    func quantizedWithinHalfStep(encoding: PageEncoding) throws {
        let rows = 13, dim = 128
        let v = Self.randomRows(rows, dim, seed: 7)
        let e = try EncodedRows.encode(v, rows: rows, dim: dim, as: encoding)
        let back = e.decode()
        let g = encoding.grouping!
        let levels = Float(encoding.kind == .int8 ? 255 : 15)
        let codeBytes = encoding.kind == .int8 ? rows * dim : rows * dim / 2
        for r in 0..<rows {
            for c in 0..<dim {
                let group = g.axis == .token ? r * (dim / g.groupSize) + c / g.groupSize : (r / g.groupSize) * dim + c
                let scale = Float(Float16(bitPattern: e.payload.loadLE(UInt16.self, at: codeBytes + 4 * group)))
                let x = Float(v[r * dim + c]), y = Float(back[r * dim + c])
                // Half a step, plus the decoded value's own rounding to f16.
                let bound = scale / 2 * (1 + 1e-5) + Float(back[r * dim + c].ulp) / 2
                #expect(abs(x - y) <= bound, "row \(r) dim \(c): \(x) -> \(y), step \(scale)")
                #expect(scale >= 0 && scale < 40 / levels + 1)
            }
        }
        #expect(e.byteCount == EncodedRows.byteCount(encoding, rows: rows, dim: dim))
    }

    @Test("byte counts, worked by hand")
    func byteCounts() {
        // int8, token groups of 32, 16 rows x 128: codes 2048 + 16*4 groups*4 B = 2304.
        #expect(EncodedRows.byteCount(.int8(.init(groupSize: 32)), rows: 16, dim: 128) == 2304)
        // int4, channel groups of 16 tokens, 10 rows x 64: codes 320 + 1 token group * 64 ch * 4 B = 576.
        #expect(EncodedRows.byteCount(.int4(.init(groupSize: 16, axis: .channel)), rows: 10, dim: 64) == 576)
        // bitmap, 3 rows x 128 with 40 nonzeros: masks 3*2*8 = 48, offsets 12, values 80 -> 140.
        #expect(EncodedRows.byteCount(.bitmap, rows: 3, dim: 128, nonzeros: 40) == 140)
        #expect(EncodedRows.byteCount(.f16, rows: 16, dim: 128) == 4096)
    }

    @Test("bitmap keeps exactly the top-|x| elements, restores them exactly, ties to the lower index",
          arguments: [0.0, 0.5, 0.7, 0.9])
    func bitmap(sparsity: Double) throws {
        let rows = 6, dim = 128
        var v = Self.randomRows(rows, dim, seed: 3)
        v[2 * dim + 10] = 5; v[2 * dim + 20] = -5; v[2 * dim + 30] = 5 // ties in magnitude
        let e = try EncodedRows.encode(v, rows: rows, dim: dim, as: .bitmap, sparsity: sparsity)
        let keep = max(1, dim - Int((sparsity * Double(dim)).rounded(.down)))
        #expect(e.nonzeros == rows * keep)
        let back = e.decode()
        for r in 0..<rows {
            let row = Array(v[r * dim..<(r + 1) * dim])
            let order = row.indices.sorted { abs(row[$0]) != abs(row[$1]) ? abs(row[$0]) > abs(row[$1]) : $0 < $1 }
            let expected = Set(order.prefix(keep))
            for c in 0..<dim {
                #expect(back[r * dim + c] == (expected.contains(c) ? row[c] : 0))
            }
        }
        #expect(e.byteCount == EncodedRows.byteCount(.bitmap, rows: rows, dim: dim, nonzeros: rows * keep))
        // A stored payload re-validates.
        #expect(try EncodedRows(encoding: .bitmap, rows: rows, dim: dim, payload: e.payload) == e)
    }

    @Test("bad parameters and payloads are typed errors")
    func errors() throws {
        let v = Self.randomRows(2, 64, seed: 1)
        #expect(throws: LayoutError.invalidGroupSize(48, headDim: 64, axis: .token)) {
            try EncodedRows.encode(v, rows: 2, dim: 64, as: .int8(.init(groupSize: 48)))
        }
        #expect(throws: LayoutError.invalidSparsity(1)) { try EncodedRows.encode(v, rows: 2, dim: 64, as: .bitmap, sparsity: 1) }
        var nan = v
        nan[70] = .nan
        #expect(throws: LayoutError.nonFinite(row: 1, dim: 6)) { try EncodedRows.encode(nan, rows: 2, dim: 64, as: .f16) }
        let e = try EncodedRows.encode(v, rows: 2, dim: 64, as: .int4(.init(groupSize: 32)))
        #expect(throws: LayoutError.self) { try EncodedRows(encoding: e.encoding, rows: 2, dim: 64, payload: Array(e.payload.dropLast())) }
        let b = try EncodedRows.encode(v, rows: 2, dim: 64, as: .bitmap)
        var lying = b.payload
        lying[0] = ~lying[0] // mask no longer matches the stored offsets / value count
        #expect(throws: LayoutError.self) { try EncodedRows(encoding: .bitmap, rows: 2, dim: 64, payload: lying) }
    }
}

@Suite("Encoding names")
struct EncodingNameTests {
    @Test("description and parsing round-trip", arguments: ["f16", "bitmap", "int8/g32", "int4/c16", "int8/g128", "int4/g64"])
    func roundTrip(text: String) throws {
        let e = try #require(PageEncoding(text))
        #expect(e.description == text)
    }

    @Test func defaultsAndRejects() {
        #expect(PageEncoding("int8") == .int8(.init(groupSize: 32)))
        #expect(PageEncoding("INT4/C8") == .int4(.init(groupSize: 8, axis: .channel)))
        for bad in ["", "int3", "int8/x4", "int8/g0", "f16/g8", "bitmap/g2", "int4/c-1"] { #expect(PageEncoding(bad) == nil, "\(bad)") }
    }
}

@Suite("Encoding kinds")
struct EncodingKindTests {
    @Test func names() {
        #expect(PageEncodingKind.allCases.map(\.description) == ["f16", "int8", "int4", "bitmap"])
    }
}

import CKVPackHalf

@Suite("Quantized page dequantization kernel")
struct QuantKernelTests {
    @Test("the C dequantizer gives exactly the Swift decoder's halves", arguments: EncodingTests.quantCases)
    func matchesSwiftDecoder(encoding: PageEncoding) throws {
        let rows = 16, dim = 128
        let e = try EncodedRows.encode(EncodingTests.randomRows(rows, dim, seed: 11), rows: rows, dim: dim, as: encoding)
        var out = [UInt16](repeating: 0, count: rows * dim)
        let g = encoding.grouping!
        e.payload.withUnsafeBytes { raw in
            kvp_quant_rows_to_half(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), rows, dim,
                                   encoding.kind == .int8 ? 8 : 4, g.groupSize, g.axis == .channel ? 1 : 0, &out)
        }
        #expect(out == e.decode().map(\.bitPattern))
    }
}
