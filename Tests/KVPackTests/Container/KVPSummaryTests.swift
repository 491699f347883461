import Foundation
import Testing
@testable import KVPack

@Suite(".kvp summaries and file errors")
struct KVPSummaryTests {
    func write(_ cache: CompressedCache, codec: SectionCodec = .zstd) throws -> (dir: String, path: String) {
        let dir = try scratchDirectory()
        let path = "\(dir)/c.kvp"
        try KVPFile.write(cache, to: path, codec: codec)
        return (dir, path)
    }

    @Test("a summary gives what the decoded cache gives: bytes, ratio, and every head's tokens, pages, bytes, positions and encodings",
          arguments: Array(0...ContainerFixtures.encodings.count), SectionCodec.allCases)
    func matchesDecode(fixture: Int, codec: SectionCodec) throws {
        let cache = fixture < ContainerFixtures.encodings.count ? try ContainerFixtures.uniform(fixture) : try ContainerFixtures.mixed()
        let (dir, path) = try write(cache, codec: codec)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try KVPFile.summary(from: path)
        #expect(s.byteCount == cache.byteCount && s.denseByteCount == cache.denseByteCount && s.ratio == cache.ratio)
        #expect(s.payloadBytesByEncoding == cache.payloadBytesByEncoding)
        #expect(s.policy == cache.policy && s.model == cache.model && s.pageSize == cache.pageSize)
        let heads = cache.sequences.flatMap { $0.layers.flatMap { $0 } }
        #expect(s.heads.count == heads.count)
        for (a, b) in zip(s.heads, heads) {
            #expect(a.tokens == b.tokenCount && a.pages == b.pages.count && a.bytes == b.byteCount && a.positions == b.positions)
            #expect(a.keyEncodings == b.pages.flatMap { Array(repeating: $0.keys.encoding, count: $0.tokenCount) })
            #expect(a.valueEncodings == b.pages.flatMap { Array(repeating: $0.values.encoding, count: $0.tokenCount) })
        }
    }

    @Test("a summary still checks every pool: a flipped byte in the last section is a checksum error naming the file",
          arguments: SectionCodec.allCases)
    func damagedPool(codec: SectionCodec) throws {
        let (dir, path) = try write(try ContainerFixtures.mixed(), codec: codec)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 20] ^= 0x01 // inside the bitmap pool, the last section
        try bytes.write(to: URL(fileURLWithPath: path))
        for r in [Result { () throws(KVPFileError) in _ = try KVPFile.summary(from: path) },
                  Result { () throws(KVPFileError) in _ = try KVPFile.read(from: path) }] {
            guard case .failure(let e) = r, case .file(path, _) = e else { Issue.record("\(r)"); continue }
            #expect(e.description.hasPrefix(path + ": "))
            switch e.withoutFile {
            case .checksumMismatch, .corrupt: break
            default: Issue.record("\(e)")
            }
        }
    }

    @Test("a version no KVPack wrote reads as a damaged header; a slightly newer one asks for an upgrade")
    func absurdVersion() throws {
        var bytes = try KVPFile.encode(try ContainerFixtures.mixed())
        bytes[10] = 0xFF // version 1 becomes 0x00FF0001
        let r = Result { () throws(KVPFileError) in try KVPFile.decode(bytes) }
        guard case .failure(.corrupt("preamble", let reason)) = r else { Issue.record("\(r)"); return }
        #expect(reason.contains("16711681") && reason.contains("damaged"))
        bytes[10] = 0
        bytes[8] = 3
        #expect(throws: KVPFileError.newerVersion(found: 3, supported: 1)) { try KVPFile.decode(bytes) }
    }
}
