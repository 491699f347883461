import Foundation
import KVPackModel
import Testing

/// Dequantization of every supported type against the `gguf` Python package's (fixture
/// `dequant.gguf`: seeded random blocks of each type, and real rows of the two models' tensors).
@Suite("GGUF dequantization against gguf (Python)")
struct GGUFDequantizationTests {
    struct Expected {
        let name: String, type: String, shape: [Int], dataOffset: Int, values: ArraySlice<Float>
    }

    static func expected() throws -> [Expected] {
        let json = try Fixtures.json("dequant-expected.json")
        let floats = try Fixtures.expectedFloats()
        guard let tensors = json["tensors"] as? [[String: Any]] else { throw FixtureError(description: "no tensors") }
        return try tensors.map { t in
            guard let name = t["name"] as? String, let type = t["type"] as? String, let shape = t["shape"] as? [Int],
                  let dataOffset = t["data_offset"] as? Int, let start = t["values_offset"] as? Int, let count = t["count"] as? Int
            else { throw FixtureError(description: "bad entry \(t)") }
            return Expected(name: name, type: type, shape: shape, dataOffset: dataOffset, values: floats[start..<start + count])
        }
    }

    @Test("the tensor table reads as gguf reads it: names, types, shapes, data offsets")
    func table() throws {
        let file = try GGUFFile(contentsOf: Fixtures.path("dequant.gguf"))
        let expected = try Self.expected()
        #expect(file.version == 3 && file.alignment == 32)
        #expect(file.tensors.map(\.name) == expected.map(\.name))
        for (t, e) in zip(file.tensors, expected) {
            #expect(t.type.description == e.type && t.shape == e.shape && file.dataOffset + t.offset == e.dataOffset, "\(t.name)")
            #expect(try file.withRawData(of: t) { $0.count } == t.byteCount && t.byteCount == t.rowCount * t.bytesPerRow, "\(t.name)")
        }
        // Raw F32 data is the little-endian floats gguf dequantizes to.
        let f32 = try file.tensor(named: "random.F32")
        let raw = try file.withRawData(of: f32) { bytes in
            (0..<f32.elementCount).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        #expect(raw.map(\.bitPattern) == expected[0].values.map(\.bitPattern))
        // Every type the reader supports is covered by the fixture, and the models' types by real rows.
        let covered = Set(file.tensors.map(\.type))
        #expect(covered == Set(GGMLType.allCases.filter(\.isDequantizable)))
        #expect(Set(file.tensors.filter { $0.name.hasSuffix(".row1") }.map(\.type)) == [.q4_1, .q8_0, .q5_0, .q4_K, .q6_K])
    }

    @Test("values equal gguf's: bit for bit for F32/F16/BF16, within fp32 rounding for block types")
    func values() throws {
        let file = try GGUFFile(contentsOf: Fixtures.path("dequant.gguf"))
        var largest: (Float, String) = (0, "")
        for e in try Self.expected() {
            let tensor = try file.tensor(named: e.name)
            let ours = try file.dequantize(tensor)
            #expect(ours.count == e.values.count, "\(e.name)")
            let exact = [GGMLType.f32, .f16, .bf16].contains(tensor.type)
            let scale = e.values.reduce(Float(0)) { max($0, abs($1)) }
            for (i, (a, b)) in zip(ours, e.values).enumerated() {
                if exact {
                    #expect(a.bitPattern == b.bitPattern, "\(e.name)[\(i)]: \(a) vs \(b)")
                } else {
                    // Products of a half scale, a 6-bit sub-scale and a small integer, in another
                    // order than numpy's: a few ulps of the block's largest magnitude.
                    #expect(abs(a - b) <= 4 * scale.ulp, "\(e.name)[\(i)]: \(a) vs \(b)")
                    if abs(a - b) > largest.0 { largest = (abs(a - b), e.name) }
                }
            }
        }
        print("largest dequantization difference from gguf: \(largest.0) (\(largest.1))")
    }

    @Test("a row range equals the same rows of the whole tensor, through both entry points")
    func rowRanges() throws {
        let file = try GGUFFile(contentsOf: Fixtures.path("dequant.gguf"))
        for tensor in file.tensors where tensor.rowCount == 2 {
            let all = try file.dequantize(tensor)
            let second = try file.dequantize(tensor, rows: 1..<2)
            #expect(Array(all[tensor.rowLength...]) == second, "\(tensor.name)")
            var buffer = [Float](repeating: .nan, count: tensor.rowLength)
            try buffer.withUnsafeMutableBufferPointer { try file.dequantize(tensor, rows: 0..<1, into: $0) }
            #expect(Array(all[..<tensor.rowLength]) == buffer, "\(tensor.name)")
            #expect(try file.dequantize(tensor, rows: 2..<2).isEmpty)
        }
    }

    @Test("bad requests: rows outside the tensor, a wrong buffer size, an unknown name")
    func badRequests() throws {
        let file = try GGUFFile(contentsOf: Fixtures.path("dequant.gguf"))
        let tensor = try file.tensor(named: "random.Q4_K")
        #expect(throws: GGUFError.rowsOutOfRange(tensor: "random.Q4_K", rows: 1..<3, rowCount: 2)) {
            try file.dequantize(tensor, rows: 1..<3)
        }
        #expect(throws: GGUFError.rowsOutOfRange(tensor: "random.Q4_K", rows: -1..<1, rowCount: 2)) {
            try file.dequantize(tensor, rows: -1..<1)
        }
        var small = [Float](repeating: 0, count: 10)
        #expect(throws: GGUFError.bufferSize(tensor: "random.Q4_K", expected: 512, got: 10)) {
            try small.withUnsafeMutableBufferPointer { try file.dequantize(tensor, rows: 0..<1, into: $0) }
        }
        #expect(throws: GGUFError.tensorNotFound("nope")) { try file.dequantize(named: "nope") }
        // A tensor of another file whose data lies beyond this one's end.
        let other = try GGUFFile(contentsOf: Fixtures.path("aligned64.gguf"))
        #expect(throws: GGUFError.self) { try other.dequantize(try file.tensor(named: "gemma3-270m.blk.0.ffn_down.weight.row1")) }
    }

    @Test("general.alignment = 64 places the data section and tensors on 64-byte boundaries")
    func alignment() throws {
        let file = try GGUFFile(contentsOf: Fixtures.path("aligned64.gguf"))
        #expect(file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(file.tensors.map(\.offset) == [0, 64])
        #expect(try file.dequantize(named: "first") == [0, 1, 2, 3, 4])
        #expect(try file.dequantize(named: "second") == [0, -1, -2, -3, -4, -5, -6])
    }
}
