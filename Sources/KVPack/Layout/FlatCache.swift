/// One head's run of pages in the page table: 8 bytes (`HeadPages.directoryEntryBytes`).
public struct HeadDirectoryEntry: Sendable, Hashable {
    public var firstPage: UInt32
    public var pageCount: UInt32
}

/// The cache flattened for a GPU or a file: one byte pool per encoding kind, one positions pool,
/// a page table and a head directory ordered (sequence, layer, KV head).
/// Its bytes equal `CompressedCache.byteCount` exactly.
public struct FlatCache: Sendable, Hashable {
    public var model: ModelFacts
    /// `CompressedCache.denseKVHeads`.
    public var denseKVHeads: Int
    public var pageSize: Int
    public var policy: String
    public var sequences: [SequenceInfo]
    public var heads: [HeadDirectoryEntry]
    public var pages: [PageTableEntry]
    public var positions: [Int32]
    /// `pools[kind.rawValue]`, one per `PageEncodingKind`.
    public var pools: [[UInt8]]

    public struct SequenceInfo: Sendable, Hashable, Codable {
        public var id: String
        public var originalTokens: Int
    }

    /// Bytes of the directory, page table, positions and pools.
    public var byteCount: Int {
        heads.count * HeadPages.directoryEntryBytes + pages.count * Page.tableEntryBytes + 4 * positions.count
            + pools.reduce(0) { $0 + $1.count }
    }
}

extension CompressedCache {
    /// Flattens the cache into pools, a page table and a head directory.
    public func flattened() -> FlatCache {
        var flat = FlatCache(model: model, denseKVHeads: denseKVHeads, pageSize: pageSize, policy: policy,
                             sequences: sequences.map { .init(id: $0.id, originalTokens: $0.originalTokens) },
                             heads: [], pages: [], positions: [], pools: Array(repeating: [], count: PageEncodingKind.allCases.count))
        for seq in sequences {
            for heads in seq.layers {
                for head in heads {
                    flat.heads.append(HeadDirectoryEntry(firstPage: UInt32(flat.pages.count), pageCount: UInt32(head.pages.count)))
                    for page in head.pages {
                        let kOffset = flat.pools[Int(page.keys.encoding.kind.rawValue)].count
                        flat.pools[Int(page.keys.encoding.kind.rawValue)].append(contentsOf: page.keys.payload)
                        let vOffset = flat.pools[Int(page.values.encoding.kind.rawValue)].count
                        flat.pools[Int(page.values.encoding.kind.rawValue)].append(contentsOf: page.values.payload)
                        flat.pages.append(PageTableEntry(
                            positionsOffset: UInt32(flat.positions.count), tokens: UInt16(page.tokenCount),
                            keyEncoding: page.keys.encoding, valueEncoding: page.values.encoding,
                            keyOffset: UInt64(kOffset), valueOffset: UInt64(vOffset)))
                        flat.positions.append(contentsOf: page.positions)
                    }
                }
            }
        }
        return flat
    }

    /// Rebuilds a cache from its flat form, checking every entry against the pools: offsets and
    /// sizes in range, encodings valid for the head dim, bitmap masks consistent with offsets.
    /// - Throws: `LayoutError` naming what does not fit; never reads outside a pool.
    public init(flat: FlatCache) throws(LayoutError) {
        let m = flat.model
        let expectedHeads = flat.sequences.count * m.layerCount * m.kvHeads
        guard flat.heads.count == expectedHeads else {
            throw .payloadMismatch("head directory has \(flat.heads.count) entries; \(expectedHeads) expected")
        }
        guard flat.pools.count == PageEncodingKind.allCases.count else { throw .payloadMismatch("expected 4 pools") }
        var sequences: [CompressedSequence] = []
        var headIndex = 0
        for info in flat.sequences {
            var layers: [[HeadPages]] = []
            for _ in 0..<m.layerCount {
                var heads: [HeadPages] = []
                for _ in 0..<m.kvHeads {
                    let entry = flat.heads[headIndex]
                    headIndex += 1
                    let first = Int(entry.firstPage), count = Int(entry.pageCount)
                    guard first <= flat.pages.count, count <= flat.pages.count - first else {
                        throw .payloadMismatch("head \(headIndex - 1) points at pages \(first)..<\(first + count) of \(flat.pages.count)")
                    }
                    var pages: [Page] = []
                    for p in first..<first + count { pages.append(try Self.page(flat.pages[p], in: flat)) }
                    heads.append(try HeadPages(pages: pages))
                }
                layers.append(heads)
            }
            sequences.append(CompressedSequence(id: info.id, originalTokens: info.originalTokens, layers: layers))
        }
        try self.init(model: m, pageSize: flat.pageSize, policy: flat.policy, sequences: sequences, denseKVHeads: flat.denseKVHeads)
    }

    private static func page(_ e: PageTableEntry, in flat: FlatCache) throws(LayoutError) -> Page {
        let n = Int(e.tokens), d = flat.model.headDim
        guard n > 0, n <= flat.pageSize else { throw .pageTooLarge(tokens: n, pageSize: flat.pageSize) }
        let p0 = Int(e.positionsOffset)
        guard p0 <= flat.positions.count, n <= flat.positions.count - p0 else {
            throw .payloadMismatch("page positions \(p0)..<\(p0 + n) outside the positions pool of \(flat.positions.count)")
        }
        let keys = try rows(e.keyEncoding, offset: e.keyOffset, rows: n, dim: d, pools: flat.pools)
        let values = try rows(e.valueEncoding, offset: e.valueOffset, rows: n, dim: d, pools: flat.pools)
        return try Page(positions: Array(flat.positions[p0..<p0 + n]), keys: keys, values: values)
    }

    private static func rows(_ encoding: PageEncoding, offset: UInt64, rows: Int, dim: Int, pools: [[UInt8]]) throws(LayoutError) -> EncodedRows {
        try EncodedRows.validate(encoding, dim: dim)
        let pool = pools[Int(encoding.kind.rawValue)]
        guard offset <= UInt64(pool.count) else { throw .payloadMismatch("\(encoding) offset \(offset) beyond its pool of \(pool.count) bytes") }
        let start = Int(offset)
        var size = EncodedRows.byteCount(encoding, rows: rows, dim: dim)
        if encoding == .bitmap {
            let words = (dim + 63) / 64
            guard rows * 8 * words <= pool.count - start else { throw .payloadMismatch("bitmap masks beyond the pool") }
            var nonzeros = 0
            for i in 0..<rows * words { nonzeros += pool.loadLE(UInt64.self, at: start + 8 * i).nonzeroBitCount }
            size = EncodedRows.byteCount(.bitmap, rows: rows, dim: dim, nonzeros: nonzeros)
        }
        guard size <= pool.count - start else {
            throw .payloadMismatch("\(encoding) rows at \(start) need \(size) bytes; the pool has \(pool.count - start) left")
        }
        return try EncodedRows(encoding: encoding, rows: rows, dim: dim, payload: Array(pool[start..<start + size]))
    }
}
