import Foundation
import KVPack
import Testing
@testable import KVPackDatasets

/// One test per class of bad input: each gives a typed error naming the file and the path inside it.
@Suite("Bad capture files", .serialized)
struct BadCaptureFileTests {
    func h5pyFile(_ variant: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("\(variant).h5").path
        try Python.interop("write", path, variant)
        return path
    }

    func expectError(_ variant: String, _ check: (CaptureFileError, String) -> Bool) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try h5pyFile(variant, in: dir)
        do {
            _ = try Capture.read(from: path)
            Issue.record("variant \(variant) loaded without error")
        } catch {
            #expect(check(error, path), "\(variant): unexpected \(error)")
            #expect(error.description.contains(path))
        }
    }

    @Test func missingFile() {
        #expect(throws: CaptureFileError.fileNotFound(file: "/no/such/file.h5")) { try Capture.read(from: "/no/such/file.h5") }
    }

    @Test func notHDF5() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("text.h5").path
        try "not hdf5 at all\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CaptureFileError.notHDF5(file: path)) { try Capture.read(from: path) }
    }

    @Test func foreignFormat() throws {
        try expectError("foreign") { e, p in e == .unsupportedFormat(file: p, found: "something-else") }
    }

    @Test func newerVersion() throws {
        try expectError("future") { e, p in e == .unsupportedVersion(file: p, found: 99, supported: 1) }
    }

    @Test func missingDataset() throws {
        try expectError("missing") { e, p in e == .missing(file: p, path: "/sequences/0/layers/2/queries") }
    }

    @Test func wrongRank() throws {
        try expectError("rank") { e, p in e == .wrongRank(file: p, path: "/sequences/0/layers/0/keys", expected: 3, found: [80, 16]) }
    }

    @Test func wrongDims() throws {
        try expectError("shape") { e, p in
            e == .invalid(file: p, path: "/sequences/0/layers/1/keys",
                          .shapeMismatch(layer: 1, tensor: .keys, expected: [2, 40, 16], found: [2, 39, 16]))
        }
    }

    @Test func integersWhereFloatsBelong() throws {
        try expectError("ints") { e, p in
            e == .wrongType(file: p, path: "/sequences/0/layers/0/values", expected: "float16 or float32", found: "integer32")
        }
    }

    @Test func beyondHalfRange() throws {
        try expectError("big") { e, p in e == .outOfHalfRange(file: p, path: "/sequences/0/layers/2/queries", value: 1e6) }
    }

    @Test func nanIsLocated() throws {
        try expectError("nan") { e, p in
            e == .invalid(file: p, path: "/sequences/0/layers/1/values", .nonFinite(layer: 1, tensor: .values, head: 1, token: 7, dim: 3))
        }
    }

    @Test func headsNotGrouped() throws {
        try expectError("gqa") { e, p in e == .invalid(file: p, path: "/model", .headsNotGrouped(queryHeads: 3, kvHeads: 2)) }
    }

    @Test func zeroTokensInAFile() throws {
        // query_positions 32..<40 with no cached tokens: the layer has zero tokens.
        try expectError("zero") { e, p in e == .invalid(file: p, path: "/sequences/0/layers/0", .zeroTokens(layer: 0)) }
    }

    @Test func zeroTokens() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let facts = try ModelFacts(name: "z", queryHeads: 1, kvHeads: 1, headDim: 4, layerKinds: [.global])
        let path = dir.appendingPathComponent("z.h5").path
        let writer = try CaptureFileWriter(path: path, model: facts)
        #expect(throws: CaptureFileError.self) {
            try writer.beginSequence("0", positions: try SequencePositions(tokens: [], window: []))
            let empty = try HeadTensor<Float16>(zeros: 1, 0, 4)
            try writer.writeLayer(0, LayerCapture(keys: empty, values: empty, queries: empty), sequence: "0")
        }
    }
}
