import Foundation
@testable import KVPack
import KVPackTestSupport

/// Small caches for container tests: a uniform one per encoding and a mixed, ragged one.
enum ContainerFixtures {
    static func capture(tokens: Int = 37, kvHeads: Int = 2, d: Int = 64, layers: Int = 2) throws -> Capture {
        try randomCapture(tokens: tokens, qHeads: 2 * kvHeads, kvHeads: kvHeads, d: d, layers: Array(repeating: .global, count: layers),
                          ropeTheta: 10000, seed: UInt64(tokens * 7 + d))
    }

    static let encodings: [(PageEncoding, PageEncoding)] = [
        (.f16, .f16), (.int8(.init(groupSize: 32)), .int8(.init(groupSize: 64))),
        (.int4(.init(groupSize: 16, axis: .channel)), .int4(.init(groupSize: 32))), (.bitmap, .bitmap),
    ]

    static func uniform(_ index: Int) throws -> CompressedCache {
        let (k, v) = encodings[index]
        return try CompressedCache.uniform(capture(), keys: k, values: v, pageSize: 16, keySparsity: 0.6, valueSparsity: 0.4)
    }

    /// Ragged heads, mixed encodings within heads, pages of 5.
    static func mixed() throws -> CompressedCache {
        let c = try capture()
        let seq = c.sequences[0]
        var layers: [[HeadPages]] = []
        for (l, layer) in seq.layers.enumerated() {
            var heads: [HeadPages] = []
            for h in 0..<c.model.kvHeads {
                let kept = Array(stride(from: h, to: 37, by: 1 + l + h))
                let enc = kept.indices.map { encodings[($0 / 3) % encodings.count] }
                heads.append(try HeadPages.pack(keys: layer.keys, values: layer.values, head: h, kept: kept,
                                                positions: seq.positions.tokens, encodings: enc, pageSize: 5))
            }
            layers.append(heads)
        }
        return try CompressedCache(model: c.model, pageSize: 5, policy: "mixed-fixture",
                                   sequences: [CompressedSequence(id: "0", originalTokens: 37, layers: layers)])
    }

    /// Re-encodes `bytes` after `modify` edits its raw (decompressed) sections; checksums stay valid,
    /// so only KVPack's own checks can catch what the edit broke.
    static func rebuild(_ bytes: [UInt8], modify: (KVPFile.Section, inout [UInt8]) -> Void,
                        editDirectory: ((inout [(UInt32, UInt32, UInt64, UInt64, UInt64)]) -> Void)? = nil) throws -> [UInt8] {
        var pre = ByteReader(bytes[8..<32], section: "preamble")
        _ = try pre.read(UInt32.self); _ = try pre.read(UInt32.self)
        let dirFrame = Int(try pre.read(UInt64.self)), dirRaw = Int(try pre.read(UInt64.self))
        let dir = try SectionCodec.zstd.decompress(bytes[32..<32 + dirFrame], rawSize: dirRaw, section: "directory")
        var r = ByteReader(dir[...], section: "directory")
        var sections: [(KVPFile.Section, SectionCodec, [UInt8])] = []
        for _ in 0..<dirRaw / 32 {
            let kind = try r.read(UInt32.self), codec = SectionCodec(rawValue: try r.read(UInt32.self))!
            let offset = 32 + dirFrame + Int(try r.read(UInt64.self)), size = Int(try r.read(UInt64.self)), raw = Int(try r.read(UInt64.self))
            var data = try codec.decompress(bytes[offset..<offset + size], rawSize: raw, section: "")
            let section = KVPFile.Section(rawValue: kind)!
            modify(section, &data)
            sections.append((section, codec, data))
        }
        var frames: [[UInt8]] = []
        for s in sections { frames.append(try s.1.compress(s.2)) }
        var entries: [(UInt32, UInt32, UInt64, UInt64, UInt64)] = []
        var offset = 0
        for (s, f) in zip(sections, frames) {
            entries.append((s.0.rawValue, s.1.rawValue, UInt64(offset), UInt64(f.count), UInt64(s.2.count)))
            offset += f.count
        }
        editDirectory?(&entries)
        var w = ByteWriter()
        for e in entries { w.write(e.0); w.write(e.1); w.write(e.2); w.write(e.3); w.write(e.4) }
        let dirBytes = try SectionCodec.zstd.compress(w.bytes)
        var out = ByteWriter()
        out.write(KVPFile.magic)
        out.write(UInt32(1)); out.write(UInt32(1)); out.write(UInt64(dirBytes.count)); out.write(UInt64(entries.count * 32))
        out.write(dirBytes)
        for f in frames { out.write(f) }
        return out.bytes
    }
}
