/// One page's entry in the page table, and its one codec: the `.kvp` writer and reader and the
/// Vulkan upload all go through `append(to:)` / `init(bytes:at:)`, and the kernels read the
/// fields at the offsets of `Layout` (`Kernels/include/page_entry.glsl`, checked against it by
/// a test).
///
/// 32 bytes, little-endian:
///
/// | bytes | field | |
/// |---|---|---|
/// | 0 ..< 4 | positionsOffset u32 | index of the page's first position in the positions pool |
/// | 4 ..< 6 | tokens u16 | tokens in the page |
/// | 6 | keyKind u8 | `PageEncodingKind` of the keys: 0 f16, 1 int8, 2 int4, 3 bitmap |
/// | 7 | valueKind u8 | the same for the values |
/// | 8 ..< 10 | keyGroup u16 | quantization group size of the keys (0: none) |
/// | 10 ..< 12 | valueGroup u16 | the same for the values |
/// | 12 | axes u8 | bit 0: key groups run along channels; bit 1: value groups |
/// | 13 ..< 16 | reserved | 0 |
/// | 16 ..< 24 | keyOffset u64 | bytes into the pool of the keys' kind |
/// | 24 ..< 32 | valueOffset u64 | bytes into the pool of the values' kind |
///
/// On the device an offset counts from the start of the pool window the page's head lies in,
/// and fits 32 bits (a window is at most `maxStorageBufferRange`).
public struct PageTableEntry: Sendable, Hashable {
    public var positionsOffset: UInt32
    public var tokens: UInt16
    public var keyEncoding: PageEncoding
    public var valueEncoding: PageEncoding
    public var keyOffset: UInt64
    public var valueOffset: UInt64

    public init(positionsOffset: UInt32, tokens: UInt16, keyEncoding: PageEncoding, valueEncoding: PageEncoding,
                keyOffset: UInt64, valueOffset: UInt64) {
        self.positionsOffset = positionsOffset
        self.tokens = tokens
        self.keyEncoding = keyEncoding
        self.valueEncoding = valueEncoding
        self.keyOffset = keyOffset
        self.valueOffset = valueOffset
    }

    /// Byte offsets of the fields (see the table above).
    public enum Layout {
        public static let byteCount = 32
        public static let positionsOffset = 0
        public static let tokens = 4
        public static let keyKind = 6
        public static let valueKind = 7
        public static let keyGroup = 8
        public static let valueGroup = 10
        public static let axes = 12
        public static let reserved = 13
        public static let keyOffset = 16
        public static let valueOffset = 24
        /// `axes` bits.
        public static let keyByChannel: UInt8 = 1, valueByChannel: UInt8 = 2
    }

    /// Appends the entry's 32 bytes to `bytes`.
    /// - Throws: `LayoutError.payloadMismatch` when a group size does not fit its 16 bits
    ///   (channel groups may be that long; the entry cannot say so), leaving `bytes` unchanged.
    public func append(to bytes: inout [UInt8]) throws(LayoutError) {
        let k = keyEncoding.grouping, v = valueEncoding.grouping
        guard let keyGroup = UInt16(exactly: k?.groupSize ?? 0), let valueGroup = UInt16(exactly: v?.groupSize ?? 0) else {
            throw .payloadMismatch("quantization groups of \(k?.groupSize ?? 0) / \(v?.groupSize ?? 0) do not fit a page-table entry (at most 65535)")
        }
        // The 32 bytes composed in registers and appended at once (a device attend writes one
        // entry per head and call: appended field by field, each was a dozen capacity checks).
        var entry: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &entry) { e in
            e.storeBytes(of: positionsOffset.littleEndian, toByteOffset: Layout.positionsOffset, as: UInt32.self)
            e.storeBytes(of: tokens.littleEndian, toByteOffset: Layout.tokens, as: UInt16.self)
            e.storeBytes(of: keyEncoding.kind.rawValue, toByteOffset: Layout.keyKind, as: UInt8.self)
            e.storeBytes(of: valueEncoding.kind.rawValue, toByteOffset: Layout.valueKind, as: UInt8.self)
            e.storeBytes(of: keyGroup.littleEndian, toByteOffset: Layout.keyGroup, as: UInt16.self)
            e.storeBytes(of: valueGroup.littleEndian, toByteOffset: Layout.valueGroup, as: UInt16.self)
            e.storeBytes(of: (k?.axis == .channel ? Layout.keyByChannel : 0) | (v?.axis == .channel ? Layout.valueByChannel : 0),
                         toByteOffset: Layout.axes, as: UInt8.self)
            e.storeBytes(of: keyOffset.littleEndian, toByteOffset: Layout.keyOffset, as: UInt64.self)
            e.storeBytes(of: valueOffset.littleEndian, toByteOffset: Layout.valueOffset, as: UInt64.self)
        }
        withUnsafeBytes(of: entry) { bytes.append(contentsOf: $0) }
    }

    /// The entry's 32 bytes (see `append(to:)`).
    public func bytes() throws(LayoutError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Layout.byteCount)
        try append(to: &out)
        return out
    }

    /// Reads the entry at `offset` of `bytes`.
    /// - Throws: `LayoutError.payloadMismatch` when fewer than 32 bytes are left or an encoding
    ///   kind is unknown. Group sizes are not checked against a head dim here.
    public init(bytes: [UInt8], at offset: Int = 0) throws(LayoutError) {
        guard offset >= 0, bytes.count - offset >= Layout.byteCount else {
            throw .payloadMismatch("a page-table entry needs \(Layout.byteCount) bytes; \(max(0, bytes.count - offset)) left at \(offset)")
        }
        func get<T: FixedWidthInteger>(_ type: T.Type, _ field: Int) -> T {
            var value = T.zero
            for i in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + field + i]) << (8 * i) }
            return value
        }
        let axes = get(UInt8.self, Layout.axes)
        func encoding(_ field: Int, _ groupField: Int, channel: UInt8) throws(LayoutError) -> PageEncoding {
            let kind = get(UInt8.self, field)
            let grouping = QuantizationGrouping(groupSize: Int(get(UInt16.self, groupField)), axis: axes & channel != 0 ? .channel : .token)
            switch PageEncodingKind(rawValue: kind) {
            case .f16: return .f16
            case .int8: return .int8(grouping)
            case .int4: return .int4(grouping)
            case .bitmap: return .bitmap
            case nil: throw .payloadMismatch("unknown encoding kind \(kind) in a page-table entry (0 f16, 1 int8, 2 int4, 3 bitmap)")
            }
        }
        self.init(positionsOffset: get(UInt32.self, Layout.positionsOffset), tokens: get(UInt16.self, Layout.tokens),
                  keyEncoding: try encoding(Layout.keyKind, Layout.keyGroup, channel: Layout.keyByChannel),
                  valueEncoding: try encoding(Layout.valueKind, Layout.valueGroup, channel: Layout.valueByChannel),
                  keyOffset: get(UInt64.self, Layout.keyOffset), valueOffset: get(UInt64.self, Layout.valueOffset))
    }
}
