import Foundation
import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// The kernels read page-table entries through the constants of `Kernels/include/page_entry.glsl`;
/// the `.kvp` writer and the device upload write them through `PageTableEntry`'s codec (pinned
/// by golden bytes in KVPackTests). These tests hold the two sides to one layout.
@Suite("Page-table entry: the GLSL constants and the upload match the Swift codec")
struct PageEntryLayoutTests {
    /// `#define NAME value` lines of the kernels' header.
    static func glslConstants() throws -> [String: UInt32] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Kernels/include/page_entry.glsl")
        var out: [String: UInt32] = [:]
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") where line.hasPrefix("#define ") {
            let parts = line.split(separator: " ")
            guard parts.count == 3 else { continue }
            let text = String(parts[2])
            out[String(parts[1])] = text.hasPrefix("0x") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
        }
        return out
    }

    @Test("every word index, shift and mask is the codec's byte offset and size")
    func constants() throws {
        let c = try Self.glslConstants()
        typealias L = PageTableEntry.Layout
        #expect(c["PAGE_ENTRY_WORDS"].map { Int($0) * 4 } == L.byteCount)
        // (word, shift, mask names; the field's byte offset and size in the codec)
        let fields: [(String, String?, String?, Int, Int)] = [
            ("PAGE_POSITIONS_WORD", nil, nil, L.positionsOffset, 4),
            ("PAGE_TOKENS_WORD", "PAGE_TOKENS_SHIFT", "PAGE_TOKENS_MASK", L.tokens, 2),
            ("PAGE_KEY_KIND_WORD", "PAGE_KEY_KIND_SHIFT", "PAGE_KIND_MASK", L.keyKind, 1),
            ("PAGE_VALUE_KIND_WORD", "PAGE_VALUE_KIND_SHIFT", "PAGE_KIND_MASK", L.valueKind, 1),
            ("PAGE_KEY_GROUP_WORD", "PAGE_KEY_GROUP_SHIFT", "PAGE_GROUP_MASK", L.keyGroup, 2),
            ("PAGE_VALUE_GROUP_WORD", "PAGE_VALUE_GROUP_SHIFT", "PAGE_GROUP_MASK", L.valueGroup, 2),
            ("PAGE_AXES_WORD", "PAGE_AXES_SHIFT", nil, L.axes, 1),
            ("PAGE_KEY_OFFSET_WORD", nil, nil, L.keyOffset, 4), // the low word of the u64
            ("PAGE_VALUE_OFFSET_WORD", nil, nil, L.valueOffset, 4),
        ]
        for (word, shift, mask, offset, size) in fields {
            #expect(c[word] == UInt32(offset / 4), "\(word)")
            let shiftValue: UInt32? = if let shift { c[shift] } else { 0 } // whole words have none
            #expect(shiftValue == UInt32(8 * (offset % 4)), "\(shift ?? word)")
            if let mask { #expect(c[mask] == UInt32((1 << (8 * size)) - 1), "\(mask)") }
            #expect(offset % 4 + size <= 4, "\(word): the field must not straddle words")
        }
        #expect(c["PAGE_KEY_BY_CHANNEL"] == UInt32(L.keyByChannel) && c["PAGE_VALUE_BY_CHANNEL"] == UInt32(L.valueByChannel))
    }

    @Test("decodePage's reading, done with the header's constants, recovers every field the codec wrote")
    func mirrorDecode() throws {
        let c = try Self.glslConstants()
        func k(_ name: String) throws -> UInt32 { try #require(c[name], "\(name) missing from page_entry.glsl") }
        var rng = TestRandom(31)
        let encodings: [PageEncoding] = [.f16, .bitmap, .int8(.init(groupSize: 32)), .int4(.init(groupSize: 16, axis: .channel)),
                                         .int8(.init(groupSize: 300, axis: .channel)), .int4(.init(groupSize: 64))]
        for i in 0..<24 {
            let entry = PageTableEntry(positionsOffset: UInt32(truncatingIfNeeded: rng.bits() >> 32), tokens: UInt16(truncatingIfNeeded: rng.bits() >> 48),
                                       keyEncoding: encodings[i % encodings.count], valueEncoding: encodings[(i / 3) % encodings.count],
                                       keyOffset: rng.bits() >> 33, valueOffset: rng.bits() >> 33)
            let bytes = try entry.bytes()
            let w = (0..<bytes.count / 4).map { j in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * j + $1]) << (8 * $1) } }
            func field(_ word: String, _ shift: String, _ mask: String) throws -> UInt32 { (w[Int(try k(word))] >> (try k(shift))) & (try k(mask)) }
            let axes = w[Int(try k("PAGE_AXES_WORD"))] >> (try k("PAGE_AXES_SHIFT"))
            #expect(w[Int(try k("PAGE_POSITIONS_WORD"))] == entry.positionsOffset)
            #expect(try field("PAGE_TOKENS_WORD", "PAGE_TOKENS_SHIFT", "PAGE_TOKENS_MASK") == UInt32(entry.tokens))
            #expect(try field("PAGE_KEY_KIND_WORD", "PAGE_KEY_KIND_SHIFT", "PAGE_KIND_MASK") == UInt32(entry.keyEncoding.kind.rawValue))
            #expect(try field("PAGE_VALUE_KIND_WORD", "PAGE_VALUE_KIND_SHIFT", "PAGE_KIND_MASK") == UInt32(entry.valueEncoding.kind.rawValue))
            #expect(try field("PAGE_KEY_GROUP_WORD", "PAGE_KEY_GROUP_SHIFT", "PAGE_GROUP_MASK") == UInt32(entry.keyEncoding.grouping?.groupSize ?? 0))
            #expect(try field("PAGE_VALUE_GROUP_WORD", "PAGE_VALUE_GROUP_SHIFT", "PAGE_GROUP_MASK") == UInt32(entry.valueEncoding.grouping?.groupSize ?? 0))
            #expect((axes & (try k("PAGE_KEY_BY_CHANNEL")) != 0) == (entry.keyEncoding.grouping?.axis == .channel))
            #expect((axes & (try k("PAGE_VALUE_BY_CHANNEL")) != 0) == (entry.valueEncoding.grouping?.axis == .channel))
            #expect(w[Int(try k("PAGE_KEY_OFFSET_WORD"))] == UInt32(entry.keyOffset))
            #expect(w[Int(try k("PAGE_VALUE_OFFSET_WORD"))] == UInt32(entry.valueOffset))
        }
    }

    @Test("the device's page table is the codec's bytes of the flat cache's entries", .vulkanDevice)
    func upload() throws {
        let context = try #require(SharedContext.context)
        // One encoding class and one pool window: the device keeps the flat order and offsets.
        let fixture = try DecodeFixture.ragged(.int8(.init(groupSize: 32)), .int4(.init(groupSize: 16, axis: .channel)), d: 64)
        let flat = fixture.cache.flattened()
        let device = try DeviceKVCache(context, flat: flat)
        var table = [UInt8](repeating: 0, count: flat.pages.count * PageTableEntry.Layout.byteCount)
        try table.withUnsafeMutableBytes { try device.table.download(into: $0) }
        #expect(table == (try flat.pages.flatMap { try $0.bytes() }))
    }
}
