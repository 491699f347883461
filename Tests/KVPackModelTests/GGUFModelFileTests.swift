import Foundation
import KVPackModel
import Testing

/// The two shipped model files read as the `gguf` Python package reads them (fixture
/// `models.json`): the whole tensor table, and checksums of one tensor of each type dequantized.
@Suite("GGUF: the shipped model files")
struct GGUFModelFileTests {
    @Test("tensor tables, metadata and dequantized checksums match gguf", arguments: ShippedModel.allCases)
    func modelFile(model: ShippedModel) throws {
        let file = try ModelFiles.file(model)
        guard let expected = try Fixtures.json("models.json")[model.rawValue] as? [String: Any],
              let table = expected["tensors"] as? [[String: Any]], let checks = expected["checks"] as? [[String: Any]]
        else { throw FixtureError(description: "models.json has no \(model)") }
        #expect(file.version == expected["version"] as? UInt32)
        #expect(file.metadata.keys.count == expected["metadata_count"] as? Int)
        #expect(file.tensors.count == table.count)
        for (t, e) in zip(file.tensors, table) {
            #expect(t.name == e["name"] as? String && t.type.description == e["type"] as? String
                    && t.shape == e["shape"] as? [Int] && file.dataOffset + t.offset == e["data_offset"] as? Int, "\(t.name)")
        }
        print("\(model): tensor types \(Dictionary(grouping: file.tensors, by: \.type.description).mapValues(\.count))")
        for check in checks {
            guard let name = check["name"] as? String, let sum = check["sum"] as? Double, let absSum = check["abs_sum"] as? Double,
                  let first = check["first"] as? [Double], let last = check["last"] as? [Double] else { continue }
            let values = try file.dequantize(named: name)
            let ourSum = values.reduce(0.0) { $0 + Double($1) }, ourAbs = values.reduce(0.0) { $0 + Double(abs($1)) }
            // Sums of millions of floats in another order: relative 1e-9 of the absolute sum.
            #expect(abs(ourSum - sum) <= 1e-9 * absSum + 1e-6, "\(name): sum \(ourSum) vs \(sum)")
            #expect(abs(ourAbs - absSum) <= 1e-9 * absSum, "\(name): |sum| \(ourAbs) vs \(absSum)")
            // Float32 values, compared as Float (Foundation's JSON parser may round their double form).
            #expect(Array(values.prefix(16)) == first.map(Float.init), "\(name) first values")
            #expect(Array(values.suffix(16)) == last.map(Float.init), "\(name) last values")
        }
    }

    @Test("every tensor dequantizes bit for bit as gguf does (checksums of the float32 bit patterns)",
          arguments: ShippedModel.allCases)
    func everyTensorBitExact(model: ShippedModel) throws {
        let file = try ModelFiles.file(model)
        guard let table = (try Fixtures.json("models.json")[model.rawValue] as? [String: Any])?["tensors"] as? [[String: Any]]
        else { throw FixtureError(description: "models.json has no \(model)") }
        #expect(table.count == file.tensors.count)
        for (tensor, entry) in zip(file.tensors, table) {
            guard let sum = (entry["bits_sum"] as? String).flatMap({ UInt64($0, radix: 16) }),
                  let weighted = (entry["bits_weighted_sum"] as? String).flatMap({ UInt64($0, radix: 16) })
            else { Issue.record("\(tensor.name): no checksums"); continue }
            // In chunks of rows (the Gemma embedding alone is 167 M floats).
            var ourSum: UInt64 = 0, ourWeighted: UInt64 = 0, index: UInt64 = 1
            let chunk = max(1, (1 << 22) / max(tensor.rowLength, 1))
            for first in stride(from: 0, to: tensor.rowCount, by: chunk) {
                let values = try file.dequantize(tensor, rows: first..<min(first + chunk, tensor.rowCount))
                for v in values {
                    let bits = UInt64(v.bitPattern)
                    ourSum &+= bits
                    ourWeighted &+= bits &* index
                    index += 1
                }
            }
            #expect(ourSum == sum && ourWeighted == weighted, "\(model) \(tensor.name) (\(tensor.type))")
        }
    }

    @Test("an embedding row dequantized alone equals that row of the whole matrix", arguments: ShippedModel.allCases)
    func embeddingRow(model: ShippedModel) throws {
        let file = try ModelFiles.file(model)
        let embedding = try file.tensor(named: "token_embd.weight")
        let row = 12_345
        let alone = try file.dequantize(embedding, rows: row..<row + 1)
        let whole = try file.dequantize(embedding, rows: row - 2..<row + 3)
        #expect(alone.count == embedding.rowLength)
        #expect(Array(whole[2 * embedding.rowLength..<3 * embedding.rowLength]) == alone)
    }
}
