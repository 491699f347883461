/// The shape of one class of page slots in a `PagePool`: the (key, value) encodings of the pages it
/// holds and, for bitmap rows, the nonzeros each row keeps. Every slot of a class has the same
/// capacity: the positions, keys and values of a full page (`pageSize` tokens).
///
/// Slot layout: `pageSize` Int32 positions, then the key payload (`EncodedRows` layout for the
/// page's rows), padded to 16 bytes, then the value payload. A page with fewer rows than
/// `pageSize` uses the start of each region.
public struct SlotClass: Sendable, Hashable, CustomStringConvertible {
    public var keyEncoding: PageEncoding
    public var valueEncoding: PageEncoding
    /// Nonzeros per bitmap key row (0 unless keys are bitmap).
    public var keyNonzerosPerRow: Int
    /// Nonzeros per bitmap value row (0 unless values are bitmap).
    public var valueNonzerosPerRow: Int

    public init(keyEncoding: PageEncoding, valueEncoding: PageEncoding, keyNonzerosPerRow: Int = 0, valueNonzerosPerRow: Int = 0) {
        self.keyEncoding = keyEncoding
        self.valueEncoding = valueEncoding
        self.keyNonzerosPerRow = keyEncoding == .bitmap ? keyNonzerosPerRow : 0
        self.valueNonzerosPerRow = valueEncoding == .bitmap ? valueNonzerosPerRow : 0
    }

    /// The dense f16 class (open pages, decode tokens).
    public static let f16 = SlotClass(keyEncoding: .f16, valueEncoding: .f16)

    public var description: String {
        let k = keyEncoding == .bitmap ? "bitmap(\(keyNonzerosPerRow))" : keyEncoding.description
        let v = valueEncoding == .bitmap ? "bitmap(\(valueNonzerosPerRow))" : valueEncoding.description
        return "\(k)/\(v)"
    }

    static func round16(_ x: Int) -> Int { (x + 15) & ~15 }

    /// Byte offset of the key payload in a slot.
    static func keyOffset(pageSize: Int) -> Int { round16(4 * pageSize) }

    /// Most payload bytes of `rows` rows in `encoding` with `nonzerosPerRow` for bitmap.
    static func payloadBytes(_ encoding: PageEncoding, rows: Int, dim: Int, nonzerosPerRow: Int) -> Int {
        EncodedRows.byteCount(encoding, rows: rows, dim: dim, nonzeros: rows * nonzerosPerRow)
    }

    /// Byte offset of the value payload in a slot.
    func valueOffset(pageSize: Int, dim: Int) -> Int {
        SlotClass.keyOffset(pageSize: pageSize)
            + SlotClass.round16(SlotClass.payloadBytes(keyEncoding, rows: pageSize, dim: dim, nonzerosPerRow: keyNonzerosPerRow))
    }

    /// Bytes of one slot.
    func slotBytes(pageSize: Int, dim: Int) -> Int {
        valueOffset(pageSize: pageSize, dim: dim)
            + SlotClass.round16(SlotClass.payloadBytes(valueEncoding, rows: pageSize, dim: dim, nonzerosPerRow: valueNonzerosPerRow))
    }
}
