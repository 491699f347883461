/// Byte ranges just written into a pool's slots, as its mirror takes them: per range, the bank,
/// the offset in the bank and the bytes (in the slot, valid while the writer holds the slot).
struct SlotWrites {
    var parts: [(bank: Int, offset: Int, bytes: UnsafeRawBufferPointer)] = []

    init(capacity: Int = 0) { parts.reserveCapacity(capacity) }

    /// Bytes `range` of `slot` (a range within the slot) were written.
    mutating func add(_ slot: PageSlot, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        parts.append((Int(slot.bank), slot.bankOffset + range.lowerBound,
                      UnsafeRawBufferPointer(start: slot.base + range.lowerBound, count: range.count)))
    }

    /// The f16 row `row` of `page` (its position, key and value) was written.
    mutating func addRow(_ row: Int, of page: LivePage, dim: Int) {
        add(page.slot, 4 * row..<4 * row + 4)
        add(page.slot, page.keyOffset + 2 * dim * row..<page.keyOffset + 2 * dim * (row + 1))
        add(page.slot, page.valueOffset + 2 * dim * row..<page.valueOffset + 2 * dim * (row + 1))
    }
}
