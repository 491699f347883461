import CKVPackHalf
/// One page of a live session: a slot of the pool holding up to `pageSize` tokens of one KV head,
/// their positions, keys and values (`SlotClass` layout).
package struct LivePage: Sendable, Hashable {
    package var slot: PageSlot
    package var slotClass: SlotClass
    package var tokens: Int
    /// Nonzeros of the key / value payloads (bitmap; 0 otherwise).
    var keyNonzeros: Int
    var valueNonzeros: Int
    /// Byte offsets of the key and value payloads in the slot.
    package let keyOffset: Int
    package let valueOffset: Int
    /// The positions of the page's first and last token (0 while it has none): kept beside the
    /// slot's positions so that a batched attend's checks of 256 heads a layer read the pages'
    /// values, not a cold line of each head's first slot.
    package private(set) var firstPosition: Int32 = 0
    package private(set) var lastPosition: Int32 = 0

    /// The slot's bytes written by `write`: positions, key and value payloads.
    func usedRanges(dim: Int) -> [Range<Int>] {
        [0..<4 * tokens, keyOffset..<keyOffset + keyBytes(dim: dim), valueOffset..<valueOffset + valueBytes(dim: dim)]
    }

    package var positions: UnsafeMutablePointer<Int32> { slot.base.assumingMemoryBound(to: Int32.self) }

    func keyBytes(dim: Int) -> Int { EncodedRows.byteCount(slotClass.keyEncoding, rows: tokens, dim: dim, nonzeros: keyNonzeros) }
    func valueBytes(dim: Int) -> Int { EncodedRows.byteCount(slotClass.valueEncoding, rows: tokens, dim: dim, nonzeros: valueNonzeros) }

    /// Exact layout bytes (as `Page.byteCount`): table entry, positions, key and value payloads.
    package func byteCount(dim: Int) -> Int { Page.tableEntryBytes + 4 * tokens + keyBytes(dim: dim) + valueBytes(dim: dim) }

    func keysView(dim: Int) -> RowsView {
        RowsView(encoding: slotClass.keyEncoding, rows: tokens, dim: dim, base: UnsafeRawPointer(slot.base + keyOffset))
    }

    func valuesView(dim: Int) -> RowsView {
        RowsView(encoding: slotClass.valueEncoding, rows: tokens, dim: dim, base: UnsafeRawPointer(slot.base + valueOffset))
    }

    /// The page's keys, copied out of the slot.
    func keys(dim: Int) -> EncodedRows {
        EncodedRows(unchecked: slotClass.keyEncoding, rows: tokens, dim: dim, nonzeros: keyNonzeros,
                    payload: Array(UnsafeRawBufferPointer(start: slot.base + keyOffset, count: keyBytes(dim: dim))))
    }

    func values(dim: Int) -> EncodedRows {
        EncodedRows(unchecked: slotClass.valueEncoding, rows: tokens, dim: dim, nonzeros: valueNonzeros,
                    payload: Array(UnsafeRawBufferPointer(start: slot.base + valueOffset, count: valueBytes(dim: dim))))
    }

    /// The page as a `Page` value (copied).
    func page(dim: Int) -> Page {
        try! Page(positions: Array(UnsafeBufferPointer(start: positions, count: tokens)), keys: keys(dim: dim), values: values(dim: dim))
    }

    /// Writes `page` into `slot` (which must be of `slotClass` and hold `page`'s rows).
    static func write(_ page: Page, into slot: PageSlot, slotClass: SlotClass, pageSize: Int, dim: Int) -> LivePage {
        var live = LivePage(slot: slot, slotClass: slotClass, tokens: page.tokenCount, keyNonzeros: page.keys.nonzeros,
                            valueNonzeros: page.values.nonzeros, keyOffset: SlotClass.keyOffset(pageSize: pageSize),
                            valueOffset: slotClass.valueOffset(pageSize: pageSize, dim: dim))
        page.positions.withUnsafeBufferPointer { live.positions.update(from: $0.baseAddress!, count: page.tokenCount) }
        live.firstPosition = page.positions.first ?? 0
        live.lastPosition = page.positions.last ?? 0
        page.keys.payload.withUnsafeBytes { (slot.base + live.keyOffset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        page.values.payload.withUnsafeBytes { (slot.base + live.valueOffset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return live
    }

    /// An empty f16 page in `slot`.
    static func openF16(_ slot: PageSlot, pageSize: Int, dim: Int) -> LivePage {
        LivePage(slot: slot, slotClass: .f16, tokens: 0, keyNonzeros: 0, valueNonzeros: 0,
                 keyOffset: SlotClass.keyOffset(pageSize: pageSize), valueOffset: SlotClass.f16.valueOffset(pageSize: pageSize, dim: dim))
    }

    /// Appends one f16 key and value row at `position` (an f16 page with room, held alone).
    mutating func appendRow(position: Int32, key: UnsafePointer<Float16>, value: UnsafePointer<Float16>, dim: Int) {
        positions[tokens] = position
        if tokens == 0 { firstPosition = position }
        lastPosition = position
        (slot.base + keyOffset + 2 * dim * tokens).copyMemory(from: key, byteCount: 2 * dim)
        (slot.base + valueOffset + 2 * dim * tokens).copyMemory(from: value, byteCount: 2 * dim)
        tokens += 1
    }

    /// Copies this page's bytes into `slot` (copy-on-write of a shared page).
    func copy(to slot: PageSlot, slotBytes: Int) -> LivePage {
        slot.base.copyMemory(from: self.slot.base, byteCount: slotBytes)
        var p = self
        p.slot = slot
        return p
    }
}

/// The pages of one stored head of one layer of a live session, in position order.
package struct LiveHead: Sendable, Hashable {
    package var pages: [LivePage] = []

    package var tokenCount: Int { pages.reduce(0) { $0 + $1.tokens } }

    package var positions: [Int] {
        var out: [Int] = []
        out.reserveCapacity(tokenCount)
        for p in pages { for i in 0..<p.tokens { out.append(Int(p.positions[i])) } }
        return out
    }

    var lastPosition: Int? { pages.last.map { Int($0.lastPosition) } }

    /// Exact layout bytes (as `HeadPages.byteCount`).
    func byteCount(dim: Int) -> Int { HeadPages.directoryEntryBytes + pages.reduce(0) { $0 + $1.byteCount(dim: dim) } }

    /// Per token: its page and row.
    var tokenPages: [(page: Int, row: Int)] {
        pages.indices.flatMap { p in (0..<pages[p].tokens).map { (p, $0) } }
    }
}

/// A live head as attention reads it.
struct LiveHeadRows: PageRowsSource {
    let head: LiveHead
    let dim: Int

    var tokenCount: Int { head.tokenCount }
    var maxPageTokens: Int { head.pages.map(\.tokens).max() ?? 0 }

    func forEachPage(prefetch: PagePart, _ body: (RowsView, RowsView) -> Void) {
        let pages = head.pages
        for (i, p) in pages.enumerated() {
            if i + 1 < pages.count {
                let next = pages[i + 1]
                switch prefetch {
                case .keys: kvp_prefetch(next.slot.base + next.keyOffset, next.keyBytes(dim: dim))
                case .values: kvp_prefetch(next.slot.base + next.valueOffset, next.valueBytes(dim: dim))
                }
            }
            body(p.keysView(dim: dim), p.valuesView(dim: dim))
        }
    }
}
