import Foundation
import KVPack
import Testing
@testable import KVPackDatasets

/// Tools/capture/capture.py on a tiny random Llama GGUF written with `gguf`'s writer: the result
/// loads in KVPack with the right shapes, and its layer-0 keys equal the post-RoPE keys Hugging
/// Face's Llama would cache (computed independently by tiny_gguf.py from the unpermuted weights).
@Suite("GGUF capture tool", .serialized)
struct CaptureToolTests {
    static let tool = Python.repository.appendingPathComponent("Tools/capture/capture.py").path
    static let tinyWriter = URL(fileURLWithPath: Python.script).deletingLastPathComponent()
        .appendingPathComponent("tiny_gguf.py").path

    func tinyModel() throws -> URL {
        let dir = try temporaryDirectory()
        try Python.run(script: Self.tinyWriter, [dir.path])
        return dir
    }

    func capture(_ dir: URL, _ extra: [String] = [], output: String = "cap.h5") throws -> (Int32, String) {
        let r = try Python.runAllowingFailure(script: Self.tool, [
            "--gguf", dir.appendingPathComponent("tiny.gguf").path, "--text", dir.appendingPathComponent("text.txt").path,
            "--tokens", "40", "--window", "8", "--probes", "6", "--max-perplexity", "1e9", "--quiet",
            "-o", dir.appendingPathComponent(output).path] + extra)
        return (r.status, r.stderr)
    }

    @Test("a tiny GGUF captures into a capture KVPack loads, with Hugging Face's post-RoPE keys")
    func tinyLlama() throws {
        let dir = try tinyModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (status, stderr) = try capture(dir)
        #expect(status == 0, "\(stderr)")
        let file = try CaptureFile.open(dir.appendingPathComponent("cap.h5").path)
        let m = file.model
        #expect(m.name == "tiny-random-llama" && m.layerCount == 2 && m.queryHeads == 4 && m.kvHeads == 2 && m.headDim == 16)
        #expect(m.ropeTheta == 10000 && m.layerKinds == [.global, .global] && m.sourceLayers == [0, 1])
        for key in ["model_file", "quantization", "tokenizer", "text_source", "token_range", "perplexity"] {
            #expect(file.provenance[key] != nil, "provenance \(key) missing")
        }
        #expect(file.provenance["quantization"]?.contains("Q8_0") == true)
        let capture = try file.readCapture()
        let seq = capture.sequences[0]
        #expect(seq.positions.tokens == Array(0..<40) && seq.positions.window == Array(32..<40))
        #expect(seq.positions.probes == Array(40..<46) && seq.hasProbes)
        let layer = seq.layers[0]
        #expect(layer.keys.shape == [2, 40, 16] && layer.queries.shape == [4, 8, 16])
        #expect(layer.probeQueries?.shape == [4, 6, 16] && layer.probeKeys?.shape == [2, 6, 16])

        let expected = try NPYFile.read(dir.appendingPathComponent("expected_keys0.npy").path, name: "expected")
        guard case .half(let e) = expected.elements else { Issue.record("expected keys are not floats"); return }
        #expect(expected.shape == [2, 40, 16])
        let got = layer.keys.floats().storage
        let err = try AttentionMetrics.relativeL2(reference: e.map { Float($0) }, approximation: got)
        #expect(err < 2e-3, "layer-0 keys differ from Hugging Face's by rel. L2 \(err)")

        let reference = try #require(try file.denseModelReference(of: "0"))
        #expect(reference.tokenIDs.count == 47 && reference.tokenLogProbs.count == 46 && reference.topK == 64)
        let stored = try #require(reference.storedPerplexity)
        #expect(abs(reference.perplexity - stored) < 1e-3 * stored)
    }

    @Test("bad input: unsupported architecture, short text, existing output")
    func badInput() throws {
        let dir = try tinyModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Short text.
        var (status, stderr) = try capture(dir, ["--tokens", "400"])
        #expect(status == 2 && stderr.contains("are needed"), "\(stderr)")
        // Existing output: refused, and left untouched.
        let out = dir.appendingPathComponent("exists.h5")
        try Data("keep me".utf8).write(to: out)
        (status, stderr) = try capture(dir, [], output: "exists.h5")
        #expect(status == 2 && stderr.contains("already exists"))
        #expect(try String(contentsOf: out, encoding: .utf8) == "keep me")
        // An architecture the tool does not run.
        let other = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        try Python.run(script: Self.tinyWriter, [other.path, "gpt2"])
        (status, stderr) = try capture(other)
        #expect(status == 2 && stderr.contains("architecture 'gpt2' is not supported"), "\(stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".h5") || $0.hasSuffix(".tmp") }
        #expect(left == ["exists.h5"]) // nothing half-written
    }
}
