import KVPackTestSupport
import Testing
@testable import KVPack

/// The page-table entry codec against bytes written out by hand from the documented layout
/// (`PageTableEntry`: positionsOffset u32 | tokens u16 | keyKind u8 | valueKind u8 | keyGroup u16 |
/// valueGroup u16 | axes u8 | 3 reserved | keyOffset u64 | valueOffset u64, little-endian).
@Suite("Page-table entry codec: golden bytes")
struct PageTableEntryTests {
    static let golden: [(PageTableEntry, [UInt8])] = [
        // int4 keys in channel groups of 16, int8 values in token groups of 32.
        (PageTableEntry(positionsOffset: 0x0102_0304, tokens: 0x0A0B, keyEncoding: .int4(.init(groupSize: 16, axis: .channel)),
                        valueEncoding: .int8(.init(groupSize: 32)), keyOffset: 0x1122_3344_5566_7788, valueOffset: 0x1_0000_0002),
         [0x04, 0x03, 0x02, 0x01, 0x0B, 0x0A, 0x02, 0x01, 0x10, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00,
          0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]),
        // f16 keys, bitmap values: no groups, no axes.
        (PageTableEntry(positionsOffset: 7, tokens: 16, keyEncoding: .f16, valueEncoding: .bitmap, keyOffset: 0x200, valueOffset: 0xFF),
         [0x07, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
          0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
        // int8 keys in token groups of 64, int4 values in channel groups of 300 (> 255: both group bytes).
        (PageTableEntry(positionsOffset: 0xFFFF_FFFF, tokens: 1, keyEncoding: .int8(.init(groupSize: 64)),
                        valueEncoding: .int4(.init(groupSize: 300, axis: .channel)), keyOffset: 0, valueOffset: UInt64.max),
         [0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x01, 0x02, 0x40, 0x00, 0x2C, 0x01, 0x02, 0x00, 0x00, 0x00,
          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    ]

    @Test("an entry encodes to its hand-written bytes and decodes back", arguments: golden.indices)
    func goldenBytes(index: Int) throws {
        let (entry, bytes) = Self.golden[index]
        #expect(try entry.bytes() == bytes)
        #expect(try PageTableEntry(bytes: bytes) == entry)
        // At an offset inside a larger buffer, as the file's page table holds them.
        #expect(try PageTableEntry(bytes: [0xEE, 0xEE, 0xEE] + bytes + [0xEE], at: 3) == entry)
    }

    @Test("the .kvp writer's page table is these bytes: two pages of a 3-token head, hand-worked")
    func kvpPageTable() throws {
        // int8 keys (token groups of 32, head dim 64: 64 codes + 2 groups of 4 bytes = 72 bytes a
        // row), f16 values (128 bytes a row), pages of 2: page 1 starts at 2 · 72 = 144 in the int8
        // pool and 2 · 128 = 256 in the f16 pool, and at position index 2.
        let capture = try randomCapture(tokens: 3, d: 64, seed: 1)
        let cache = try CompressedCache.uniform(capture, keys: .int8(.init(groupSize: 32)), values: .f16, pageSize: 2)
        var table: [UInt8] = []
        _ = try ContainerFixtures.rebuild(try KVPFile.encode(cache)) { section, data in if section == .pages { table = data } }
        #expect(table == [0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                          0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                          0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
    }

    @Test("short buffers, unknown kinds and group sizes over 16 bits are typed errors")
    func refusals() throws {
        let bytes = Self.golden[0].1
        #expect(throws: LayoutError.self) { try PageTableEntry(bytes: Array(bytes.prefix(31))) }
        #expect(throws: LayoutError.self) { try PageTableEntry(bytes: bytes, at: 1) }
        #expect(throws: LayoutError.self) { try PageTableEntry(bytes: bytes, at: -1) }
        var unknown = bytes
        unknown[PageTableEntry.Layout.valueKind] = 4
        #expect(throws: LayoutError.self) { try PageTableEntry(bytes: unknown) }
        let wide = PageTableEntry(positionsOffset: 0, tokens: 1, keyEncoding: .int4(.init(groupSize: 70_000, axis: .channel)),
                                  valueEncoding: .f16, keyOffset: 0, valueOffset: 0)
        var out: [UInt8] = [1]
        #expect(throws: LayoutError.self) { try wide.append(to: &out) }
        #expect(out == [1])
    }
}
