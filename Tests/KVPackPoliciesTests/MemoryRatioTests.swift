import Foundation
import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("One memory ratio")
struct MemoryRatioTests {
    @Test("gqa=repeat stores a head per query head, and its ratio is still against the model's own dense cache (KV heads), in memory and from a file",
          arguments: ["snapkv(keep=0.25,window=4,gqa=repeat)", "snapkv(keep=0.25,window=4)", "dense", "quant(bits=4,group=8)"])
    func repeatRatio(spec: String) throws {
        let cap = try syntheticCapture(tokens: 64, qHeads: 6, kvHeads: 2, d: 8, window: 4,
                                       key: { h, t, c in noise(h * 1000 + t, c) }, value: { h, t, c in noise(h * 1000 + t, c, 2) },
                                       query: { h, i, c in noise(h, i * 10 + c, 3) })
        let cache = try PolicyPipeline(parsing: spec).compress(cap)
        // The model's dense cache: 2 KV heads x 64 tokens x 8 dims, keys and values, f16.
        #expect(cap.denseKVBytes == 2 * 2 * 64 * 2 * 8)
        #expect(cache.denseByteCount == cap.denseKVBytes)
        #expect(cache.ratio == Double(cache.byteCount) / Double(cap.denseKVBytes))
        #expect(cache.denseKVHeads == 2 && cache.model.kvHeads == (spec.contains("repeat") ? 6 : 2))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ratio-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try KVPFile.write(cache, to: dir + "/c.kvp")
        let back = try KVPFile.read(from: dir + "/c.kvp")
        #expect(back == cache && back.ratio == cache.ratio)
        #expect(try KVPFile.summary(from: dir + "/c.kvp").ratio == cache.ratio)
    }
}
