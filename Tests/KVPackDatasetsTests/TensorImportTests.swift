import Foundation
import KVPack
import Testing
@testable import KVPackDatasets

@Suite(".npy and .safetensors import", .serialized)
struct TensorImportTests {
    func checkImported(_ capture: Capture, name: String) throws {
        #expect(capture.model.name == name)
        #expect(capture.model.layerCount == 2 && capture.model.queryHeads == 4 && capture.model.kvHeads == 2)
        let seq = capture.sequences[0]
        #expect(seq.positions.tokens == Array(10..<50))         // from the positions tensor
        #expect(seq.positions.window == Array(42..<50))         // default: last window positions
        #expect(seq.positions.probes == Array(50..<55))         // default: after the last prompt position
        let names: [CaptureTensor] = [.keys, .values, .queries, .probeQueries]
        for (l, layer) in seq.layers.enumerated() {
            for tensor in names {
                let t = try #require(layer.tensor(tensor))
                let ti = CaptureTensor.allCases.firstIndex(of: tensor)!
                #expect(t[1, 3, 5] == interopValue(layer: l, tensor: ti, head: 1, token: 3, dim: 5))
                #expect(t[t.heads - 1, t.tokens - 1, 15] == interopValue(layer: l, tensor: ti, head: t.heads - 1, token: t.tokens - 1, dim: 15))
            }
        }
    }

    @Test func npyDirectory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Python.interop("npy", dir.path)
        let capture = try CaptureImport.capture(from: dir.path, options: .init(modelName: "npy-test"))
        try checkImported(capture, name: "npy-test")
    }

    @Test func safetensorsFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.safetensors").path
        try Python.interop("safetensors", path)
        let capture = try CaptureImport.capture(from: path, options: .init(modelName: "st-test"))
        try checkImported(capture, name: "st-test")
        #expect(capture.model.ropeTheta == 500000)
        // And the imported capture survives HDF5.
        let h5 = dir.appendingPathComponent("t.h5").path
        try capture.write(to: h5)
        #expect(try Capture.read(from: h5) == capture)
    }

    @Test func badImports() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: TensorImportError.fileNotFound(file: "/no/such")) {
            try CaptureImport.capture(from: "/no/such", options: .init(modelName: "x"))
        }
        let junk = dir.appendingPathComponent("junk.safetensors").path
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes[0] = 0xFF; bytes[5] = 0x01 // header length far beyond the file
        FileManager.default.createFile(atPath: junk, contents: Data(bytes))
        #expect(throws: TensorImportError.self) { try CaptureImport.capture(from: junk, options: .init(modelName: "x")) }
        let npyDir = dir.appendingPathComponent("npy")
        try FileManager.default.createDirectory(at: npyDir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: npyDir.appendingPathComponent("layers.0.keys.npy").path, contents: Data("\u{93}NUMPY junk".utf8))
        #expect(throws: TensorImportError.self) { try CaptureImport.capture(from: npyDir.path, options: .init(modelName: "x")) }
    }
}
