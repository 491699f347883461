/// The pages of one KV head of one layer of one sequence, in position order. Heads keep ragged
/// numbers of tokens; pages of a head may mix encodings (ARKV tiers).
public struct HeadPages: Sendable, Hashable {
    public private(set) var pages: [Page]

    /// - Throws: `LayoutError.positionsNotIncreasing` when a page does not start after the
    ///   previous page's last position.
    public init(pages: [Page]) throws(LayoutError) {
        self.pages = []
        for page in pages { try append(page) }
    }

    /// Appends a page (decode-time growth); its positions must follow the head's last position.
    public mutating func append(_ page: Page) throws(LayoutError) {
        if let last = pages.last?.positions.last, page.positions[0] <= last {
            throw .positionsNotIncreasing(index: tokenCount)
        }
        pages.append(page)
    }

    /// Tokens kept by this head.
    public var tokenCount: Int { pages.reduce(0) { $0 + $1.tokenCount } }

    /// Kept positions, in order.
    public var positions: [Int] { pages.flatMap { $0.positions.map(Int.init) } }

    /// Bytes of the head-directory entry (first page, page count).
    public static let directoryEntryBytes = 8

    /// Exact bytes: the directory entry and every page.
    public var byteCount: Int { HeadPages.directoryEntryBytes + pages.reduce(0) { $0 + $1.byteCount } }

    /// Packs kept token rows into pages of at most `pageSize` tokens. Consecutive tokens with the
    /// same (key, value) encodings share pages; a change of encoding starts a new page.
    /// - Parameters:
    ///   - keys: `[kvHeads, tokens, headDim]` source keys.
    ///   - values: `[kvHeads, tokens, headDim]` source values.
    ///   - head: which KV head.
    ///   - kept: indices into the token axis, strictly increasing.
    ///   - positions: position of every source token, `[tokens]`.
    ///   - encodings: the (key, value) encoding of each kept token, `[kept.count]`.
    ///   - pageSize: most tokens per page (1 ... 65535).
    ///   - keySparsity: share of each key row a bitmap encoding prunes.
    ///   - valueSparsity: share of each value row a bitmap encoding prunes.
    public static func pack(keys: HeadTensor<Float16>, values: HeadTensor<Float16>, head: Int, kept: [Int],
                            positions: [Int], encodings: [(PageEncoding, PageEncoding)], pageSize: Int,
                            keySparsity: Double = 0.5, valueSparsity: Double = 0.5) throws(LayoutError) -> HeadPages {
        guard (1...65535).contains(pageSize) else { throw .invalidPageSize(pageSize) }
        guard encodings.count == kept.count else {
            throw .shapeMismatch(expected: [kept.count], found: [encodings.count])
        }
        let d = keys.headDim
        var pages: [Page] = []
        var start = 0
        while start < kept.count {
            var end = start + 1
            while end < kept.count, end - start < pageSize, encodings[end] == encodings[start] { end += 1 }
            var kRows: [Float16] = [], vRows: [Float16] = []
            kRows.reserveCapacity((end - start) * d)
            vRows.reserveCapacity((end - start) * d)
            var pos: [Int32] = []
            for i in start..<end {
                let t = kept[i]
                guard t >= 0, t < keys.tokens else { throw .shapeMismatch(expected: [keys.tokens], found: [t]) }
                let o = keys.rowOffset(head: head, token: t)
                kRows.append(contentsOf: keys.storage[o..<o + d])
                vRows.append(contentsOf: values.storage[o..<o + d])
                pos.append(Int32(positions[t]))
            }
            pages.append(try Page.encode(positions: pos, keys: kRows, values: vRows, dim: d,
                                         keyEncoding: encodings[start].0, valueEncoding: encodings[start].1,
                                         keySparsity: keySparsity, valueSparsity: valueSparsity))
            start = end
        }
        return try HeadPages(pages: pages)
    }
}
