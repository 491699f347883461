import KVPackTestSupport
import Foundation
import KVPackModel
import Testing

/// Damaged and hostile files: each gives the typed error that names what is wrong.
@Suite("GGUF: malformed files")
struct GGUFMalformedFileTests {
    func open(_ b: GGUFBuilder) throws(GGUFError) -> GGUFFile { try GGUFFile(bytes: b.bytes()) }

    @Test("the builder's sample is valid (so the damage below is the only fault)")
    func sample() throws {
        let file = try open(.sample())
        #expect(file.tensors.map(\.name) == ["a", "b", "c"] && file.tensors.map(\.type) == [.f32, .q8_0, .q4_K])
        #expect(try file.dequantize(named: "a") == (0..<8).map(Float.init))
        #expect(try file.metadata.required("test.names", as: [String].self) == ["x", "yz"])
    }

    @Test("magic and version")
    func header() throws {
        var b = GGUFBuilder.sample()
        b.magic = Array("GGML".utf8)
        #expect(throws: GGUFError.badMagic(found: Array("GGML".utf8))) { try open(b) }
        #expect(throws: GGUFError.truncated(what: "magic", offset: 0, needed: 4)) { try GGUFFile(bytes: [0x47]) }
        for version: UInt32 in [0, 1, 4, 0x0300_0000] {
            b = .sample()
            b.version = version
            #expect(throws: GGUFError.unsupportedVersion(version)) { try open(b) }
        }
        b = .sample()
        b.version = 2
        #expect(try open(b).version == 2)
    }

    @Test("every truncation of a valid file is a typed error naming an offset")
    func truncation() throws {
        let bytes = GGUFBuilder.sample().bytes()
        for length in 0..<bytes.count {
            switch Result(catching: { () throws(GGUFError) in try GGUFFile(bytes: Array(bytes.prefix(length))) }) {
            case .success: Issue.record("a file cut at \(length) of \(bytes.count) bytes opened")
            case .failure(let e):
                switch e {
                case .truncated, .lengthBeyondFile, .tensorOutOfBounds, .badMagic: break
                default: Issue.record("cut at \(length): unexpected \(e)")
                }
            }
        }
    }

    @Test("lying lengths and counts are refused before allocating")
    func lyingLengths() throws {
        var b = GGUFBuilder.sample()
        b.tensorCount = UInt64.max
        #expect(throws: GGUFError.lengthBeyondFile(what: "tensor count", offset: 8, claimed: .max)) { try open(b) }
        b = .sample()
        b.metadataCount = 1 << 40
        #expect(throws: GGUFError.lengthBeyondFile(what: "metadata count", offset: 16, claimed: 1 << 40)) { try open(b) }
        // A string claiming 2^62 bytes; an array claiming 2^40 strings.
        b = .sample()
        b.metadata.append(("huge", .raw(type: 8, bytes: UInt64(1 << 62).leBytes)))
        expectCase(b, "lengthBeyondFile") {
            if case .lengthBeyondFile(let what, _, let claimed) = $0 { what == "value of metadata 'huge'" && claimed == 1 << 62 } else { false }
        }
        b = .sample()
        b.metadata.append(("many", .raw(type: 9, bytes: UInt32(8).leBytes + UInt64(1 << 40).leBytes)))
        expectCase(b, "lengthBeyondFile") {
            if case .lengthBeyondFile(let what, _, let claimed) = $0 { what == "length of array 'many'" && claimed == 1 << 40 } else { false }
        }
    }

    @Test("value types, nesting, UTF-8, duplicates")
    func metadata() throws {
        var b = GGUFBuilder.sample()
        b.metadata.append(("bad", .raw(type: 13, bytes: [])))
        expectCase(b, "invalidValueType") { if case .invalidValueType(let key, _, let type) = $0 { key == "bad" && type == 13 } else { false } }
        // Arrays of arrays of ... 100 deep.
        b = .sample()
        b.metadata.append(("deep", .raw(type: 9, bytes: Array((0..<100).map { _ in UInt32(9).leBytes + UInt64(1).leBytes }.joined()))))
        expectCase(b, "nestingTooDeep") { if case .nestingTooDeep(let key, _) = $0 { key == "deep" } else { false } }
        b = .sample()
        b.metadata.append(("bad-utf8", .raw(type: 8, bytes: UInt64(2).leBytes + [0xC3, 0x28])))
        expectCase(b, "invalidString") { if case .invalidString(let what, _) = $0 { what == "value of metadata 'bad-utf8'" } else { false } }
        b = .sample()
        b.metadata.append(("test.count", .u32(8)))
        #expect(throws: GGUFError.duplicateKey("test.count")) { try open(b) }
    }

    @Test("alignment: general.alignment must be a power of two, tensor offsets multiples of it")
    func alignment() throws {
        for bad: UInt32 in [0, 3, 48] {
            var b = GGUFBuilder.sample()
            b.metadata.append(("general.alignment", .u32(bad)))
            #expect(throws: GGUFError.invalidAlignment(UInt64(bad))) { try open(b) }
        }
        var b = GGUFBuilder.sample()
        b.metadata.append(("general.alignment", .string("64")))
        #expect(throws: GGUFError.metadataType(key: "general.alignment", expected: "uint32", found: "string")) { try open(b) }
        b = .sample()
        b.tensors[1].offset = 33
        #expect(throws: GGUFError.misalignedTensor(tensor: "b", offset: 33, alignment: 32)) { try open(b) }
        b = .sample()
        b.alignment = 64
        b.metadata.append(("general.alignment", .u32(64)))
        let file = try open(b)
        #expect(file.alignment == 64 && file.dataOffset % 64 == 0 && file.tensors.map(\.offset) == [0, 64, 192])
    }

    @Test("tensor table: bounds, types, dimensions, partial blocks, duplicates")
    func tensorTable() throws {
        var b = GGUFBuilder.sample()
        b.tensors[2].offset = 1 << 40
        #expect(throws: GGUFError.self) { try open(b) }
        expectCase(b, "tensorOutOfBounds") { if case .tensorOutOfBounds(let t, let offset, _, _) = $0 { t == "c" && offset == 1 << 40 } else { false } }
        b = .sample()
        b.tensors[2].data.removeLast(10)  // the last tensor's data runs past the end
        expectCase(b, "tensorOutOfBounds") { if case .tensorOutOfBounds(let t, _, 144, _) = $0 { t == "c" } else { false } }
        b = .sample()
        b.tensors[0].type = 77
        #expect(throws: GGUFError.unknownTensorType(tensor: "a", type: 77)) { try open(b) }
        b = .sample()
        b.tensors[1].dims = [48, 2]
        #expect(throws: GGUFError.partialBlock(tensor: "b", rowLength: 48, blockSize: 32)) { try open(b) }
        b = .sample()
        b.tensors[0].dims = [1, 1, 1, 1, 8]
        #expect(throws: GGUFError.invalidDimensions(tensor: "a", dimensions: [5])) { try open(b) }
        b = .sample()
        b.tensors[0].dims = [1 << 40, 1 << 40]
        #expect(throws: GGUFError.invalidDimensions(tensor: "a", dimensions: [1 << 40, 1 << 40])) { try open(b) }
        b = .sample()
        b.tensors[0].dims = [.max]
        #expect(throws: GGUFError.invalidDimensions(tensor: "a", dimensions: [.max])) { try open(b) }
        b = .sample()
        b.tensors[2].name = "a"
        #expect(throws: GGUFError.duplicateTensor("a")) { try open(b) }
    }

    @Test("a known type without a dequantizer opens, and dequantizing it names it")
    func unsupportedType() throws {
        var b = GGUFBuilder.sample()
        b.tensors.append(.init(name: "iq", dims: [256], type: GGMLType.iq2_XXS.rawValue, data: [UInt8](repeating: 0, count: 66)))
        let file = try open(b)
        #expect(throws: GGUFError.unsupportedTensorType(tensor: "iq", type: .iq2_XXS)) { try file.dequantize(named: "iq") }
        #expect("\(GGUFError.unsupportedTensorType(tensor: "iq", type: .iq2_XXS))".contains("IQ2_XXS"))
    }

    @Test("files on disk: missing, a directory, empty")
    func files() throws {
        #expect(throws: GGUFError.self) { try GGUFFile(contentsOf: "/no/such/model.gguf") }
        #expect(throws: GGUFError.cannotOpen(path: "/tmp", reason: "not a regular file")) { try GGUFFile(contentsOf: "/tmp") }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).gguf")
        #expect(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: GGUFError.truncated(what: "magic", offset: 0, needed: 4)) { try GGUFFile(contentsOf: empty.path) }
    }

    /// Expects `b` to fail with an error for which `matches` holds.
    func expectCase(_ b: GGUFBuilder, _ name: String, sourceLocation: SourceLocation = #_sourceLocation,
                    _ matches: (GGUFError) -> Bool) {
        switch Result(catching: { () throws(GGUFError) in try open(b) }) {
        case .success: Issue.record("expected \(name), the file opened", sourceLocation: sourceLocation)
        case .failure(let e): #expect(matches(e), "expected \(name), got \(e)", sourceLocation: sourceLocation)
        }
    }
}
