import Foundation
import KVPackModel
import Testing

@Suite("GGUF metadata")
struct GGUFMetadataTests {
    @Test("every value type reads as gguf (Python) reads it")
    func everyType() throws {
        let file = try GGUFFile(contentsOf: Fixtures.path("dequant.gguf"))
        guard let expected = try Fixtures.json("dequant-expected.json")["metadata"] as? [String: [String: Any]] else {
            throw FixtureError(description: "no metadata")
        }
        #expect(Set(file.metadata.keys) == Set(expected.keys))
        for (key, entry) in expected {
            let types = entry["types"] as? [String] ?? []
            let value = file.metadata[key]
            let typeNames = value.map { v -> [String] in
                if case .array(let a) = v { return ["ARRAY", a.elementType.description.uppercased()] }
                return [v.type.description.uppercased()]
            }
            #expect(typeNames == types, "\(key)")
            let e = entry["value"]
            switch value {
            case .string(let s)?: #expect(s == e as? String, "\(key)")
            case .bool(let b)?: #expect(b == e as? Bool, "\(key)")
            // Compared as Float: Foundation's JSON parser may round a float32's shortest double form.
            case .float32(let f)?: #expect(f == (e as? Double).map(Float.init), "\(key)")
            case .float64(let d)?: #expect(d == e as? Double, "\(key)")
            case .uint64(let u)?: #expect(u == (e as? NSNumber)?.uint64Value, "\(key)")
            case .array(.string(let a))?: #expect(a == e as? [String], "\(key)")
            case .array(.float32(let a))?: #expect(a == (e as? [Double])?.map(Float.init), "\(key)")
            case .array(.bool(let a))?: #expect(a == e as? [Bool], "\(key)")
            case .array(let a)?: #expect(a.ints == e as? [Int], "\(key)")
            case let v?: #expect(v.int == e as? Int, "\(key)")
            case nil: Issue.record("\(key) missing")
            }
        }
    }

    @Test("typed access: conversions, absent keys, wrong types")
    func typedAccess() throws {
        let m = try GGUFFile(contentsOf: Fixtures.path("dequant.gguf")).metadata
        #expect(try m.required("test.uint32", as: Int.self) == 4_000_000_000)
        #expect(try m.required("test.int8", as: Int.self) == -100)
        #expect(try m.required("test.float32", as: Float.self) == 0.1)
        #expect(try m.required("test.string", as: String.self) == "Grüße, 世界 🌍")
        #expect(try m.required("test.strings", as: [String].self) == ["a", "", "ä b", "<0x0A>"])
        #expect(try m.required("test.int32s", as: [Int].self) == [1, -2, 3])
        #expect(try m.value("absent", as: Int.self) == nil)
        #expect(throws: GGUFError.missingMetadata(key: "absent")) { try m.required("absent", as: String.self) }
        #expect(throws: GGUFError.metadataType(key: "test.string", expected: "an integer", found: "string")) {
            try m.required("test.string", as: Int.self)
        }
        #expect(throws: GGUFError.metadataType(key: "test.strings", expected: "array of a float", found: "array of string")) {
            try m.required("test.strings", as: [Float].self)
        }
        // 2^63 + 5 does not fit an Int: a type error, not a wrapped value.
        #expect(throws: GGUFError.self) { try m.required("test.uint64", as: Int.self) }
    }
}
