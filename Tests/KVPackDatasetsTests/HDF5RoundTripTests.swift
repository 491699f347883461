import Foundation
import KVPack
import Testing
@testable import KVPackDatasets

@Suite("HDF5 captures: KVPack <-> KVPack and KVPack <-> h5py", .serialized)
struct HDF5RoundTripTests {
    static func smallSpec(slidingWindow: Int? = nil, sequences: Int = 1) -> SyntheticCaptureSpec {
        var spec = SyntheticCaptureSpec()
        spec.layers = 3
        spec.queryHeads = 4
        spec.kvHeads = 2
        spec.headDim = 16
        spec.tokens = 50
        spec.window = 8
        spec.probes = 4
        spec.sequences = sequences
        spec.slidingWindow = slidingWindow
        spec.globalEvery = 3
        return spec
    }

    @Test("write then read gives an identical capture", arguments: [(nil, 1), (16, 2)] as [(Int?, Int)])
    func roundTrip(args: (Int?, Int)) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = try SyntheticCapture.make(Self.smallSpec(slidingWindow: args.0, sequences: args.1))
        let path = dir.appendingPathComponent("c.h5").path
        try capture.write(to: path)
        let back = try Capture.read(from: path)
        #expect(back == capture)
        // A single layer loads on its own.
        let file = try CaptureFile.open(path)
        #expect(try file.layer(2, of: "0") == capture.sequences[0].layers[2])
    }

    @Test("an existing output is refused unless overwrite is set; no temporary file is left")
    func atomicWrites() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = try SyntheticCapture.make(Self.smallSpec())
        let path = dir.appendingPathComponent("c.h5").path
        try capture.write(to: path)
        #expect(throws: CaptureFileError.outputExists(file: path)) { try capture.write(to: path) }
        try capture.write(to: path, overwrite: true)
        // A writer abandoned halfway leaves neither the destination nor a temporary file.
        let partial = dir.appendingPathComponent("partial.h5").path
        do {
            let writer = try CaptureFileWriter(path: partial, model: capture.model)
            try writer.beginSequence("0", positions: capture.sequences[0].positions)
            try writer.writeLayer(0, capture.sequences[0].layers[0], sequence: "0")
            #expect(throws: CaptureFileError.missing(file: partial, path: "/sequences/0/layers/1")) { try writer.finish() }
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(left == ["c.h5"])
        let missingDir = dir.appendingPathComponent("no/such/dir/c.h5").path
        #expect(throws: CaptureFileError.self) { try capture.write(to: missingDir) }
    }

    @Test("files KVPack writes open in h5py with the documented layout")
    func h5pyReadsKVPack() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = try SyntheticCapture.make(Self.smallSpec(slidingWindow: 16))
        let path = dir.appendingPathComponent("c.h5").path
        try capture.write(to: path)
        let json = try Python.interop("read", path)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let attrs = try #require(summary["attrs"] as? [String: Any])
        #expect(attrs["format"] as? String == "kvpack-capture")
        #expect(attrs["version"] as? Int == 1)
        let model = try #require(summary["model"] as? [String: Any])
        #expect(model["query_heads"] as? Int == 4 && model["kv_heads"] as? Int == 2 && model["head_dim"] as? Int == 16)
        #expect(model["layers"] as? Int == 3 && model["name"] as? String == "synthetic")
        #expect(summary["sliding_window"] as? [Int] == [16, 16, 0])
        let seq = try #require((summary["sequences"] as? [String: Any])?["0"] as? [String: Any])
        #expect(seq["positions"] as? [Int] == Array(0..<50))
        #expect(seq["probe_positions"] as? [Int] == Array(50..<54))
        let layers = try #require(seq["layers"] as? [String: Any])
        for l in 0..<3 {
            let layer = try #require(layers[String(l)] as? [String: Any])
            for tensor in CaptureTensor.allCases {
                let info = try #require(layer[tensor.rawValue] as? [String: Any])
                let t = try #require(capture.sequences[0].layers[l].tensor(tensor))
                #expect(info["shape"] as? [Int] == t.shape)
                #expect(info["dtype"] as? String == "float16")
                let sum = t.storage.reduce(0.0) { $0 + Double($1) }
                #expect(abs((info["sum"] as? Double ?? .nan) - sum) < 1e-6 * max(1, abs(sum)), "\(tensor)")
                #expect((info["chunks"] as? [Int])?.first == 1)
            }
        }
    }

    @Test("files h5py writes in the schema load in KVPack", arguments: ["basic", "float32", "float64", "bf16"])
    func kvpackReadsH5py(variant: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("py.h5").path
        try Python.interop("write", path, variant)
        let capture = try Capture.read(from: path)
        #expect(capture.model.name == "h5py-written" && capture.model.ropeTheta == 10000)
        #expect(capture.model.layerKinds == [.global, .slidingWindow(size: 16), .global])
        #expect(capture.provenance["text_source"] == "h5py interop test")
        let seq = capture.sequences[0]
        #expect(seq.positions.tokens == Array(0..<40) && seq.positions.window == Array(32..<40))
        for (l, layer) in seq.layers.enumerated() {
            for (ti, tensor) in CaptureTensor.allCases.enumerated() {
                let t = try #require(layer.tensor(tensor))
                var mismatches = 0
                for h in 0..<t.heads { for i in 0..<t.tokens { for d in 0..<t.headDim
                    where t[h, i, d] != interopValue(layer: l, tensor: ti, head: h, token: i, dim: d) { mismatches += 1 } } }
                #expect(mismatches == 0, "layer \(l) \(tensor): \(mismatches) values differ")
            }
        }
    }
}
