import Foundation

/// What a `.kvp` file holds, read from its tables, its pools checked (sizes and checksums) in
/// small chunks rather than decoded: what `kvpack inspect` prints. Byte counts are exact (the
/// pools' sizes come from the section directory; a bitmap page's payload from its offsets).
public struct KVPSummary: Sendable, CacheMemory {
    public struct Head: Sendable {
        public var sequence: Int, layer: Int, head: Int
        public var tokens: Int, pages: Int, bytes: Int
        public var positions: [Int]
        /// Per kept token, in position order.
        public var keyEncodings: [PageEncoding], valueEncodings: [PageEncoding]
    }

    public var model: ModelFacts
    /// `CompressedCache.denseKVHeads`.
    public var denseKVHeads: Int
    public var pageSize: Int
    public var policy: String
    public var sequences: [FlatCache.SequenceInfo]
    /// Ordered (sequence, layer, stored head).
    public var heads: [Head]
    public var payloadBytesByEncoding: [PageEncodingKind: Int]

    /// `CompressedCache.byteCount` of the cache the file holds.
    public var byteCount: Int { heads.reduce(0) { $0 + $1.bytes } }

    public var originalTokenCounts: [Int] { sequences.map(\.originalTokens) }
}

extension KVPFile {
    /// The summary of the file at `path`: its preamble, directory and tables decoded, its pools
    /// streamed through their checksums (a 1 GB file is summarized in a few MB); errors name the
    /// file.
    public static func summary(from path: String) throws(KVPFileError) -> KVPSummary {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .fileNotFound(path) }
        defer { try? handle.close() }
        do {
            let size = Int((try? handle.seekToEnd()) ?? 0)
            let source = ByteSource(count: size) { (range: Range<Int>) throws(KVPFileError) -> ArraySlice<UInt8> in
                do {
                    try handle.seek(toOffset: UInt64(range.lowerBound))
                    let data = try handle.read(upToCount: range.count) ?? Data()
                    guard data.count == range.count else { throw KVPFileError.truncated(section: "file") }
                    return [UInt8](data)[...]
                } catch let error as KVPFileError {
                    throw error
                } catch {
                    throw .corrupt(section: "file", reason: "read failed: \(error)")
                }
            }
            let reader = try SectionReader(source)
            return try summarize(try Tables(reader), reader: reader)
        } catch {
            throw .file(path, error)
        }
    }

    static func summarize(_ t: Tables, reader: SectionReader) throws(KVPFileError) -> KVPSummary {
        let m = t.meta.model, d = m.headDim
        var poolBytes: [PageEncodingKind: Int] = [:]
        for kind in PageEncodingKind.allCases {
            let expected = 0...UInt64(t.poolLimit[Int(kind.rawValue)])
            try reader.verify(.pool(kind), expected: expected)
            poolBytes[kind] = Int(try reader.rawSize(.pool(kind), expected: expected))
        }
        // A bitmap payload's size is the distance to the next payload in its pool (pages are
        // written one after another, keys then values).
        var bitmapStarts: [Int] = []
        for p in t.pages {
            if p.keyEncoding == .bitmap { bitmapStarts.append(Int(p.keyOffset)) }
            if p.valueEncoding == .bitmap { bitmapStarts.append(Int(p.valueOffset)) }
        }
        bitmapStarts = Array(Set(bitmapStarts)).sorted()
        var bitmapSize: [Int: Int] = [:]
        for (i, start) in bitmapStarts.enumerated() {
            bitmapSize[start] = (i + 1 < bitmapStarts.count ? bitmapStarts[i + 1] : poolBytes[.bitmap]!) - start
        }
        func payload(_ e: PageEncoding, offset: UInt64, rows: Int) throws(KVPFileError) -> Int {
            let size = e == .bitmap ? bitmapSize[Int(offset)]! : EncodedRows.byteCount(e, rows: rows, dim: d)
            guard size > 0, offset <= UInt64(poolBytes[e.kind]!), size <= poolBytes[e.kind]! - Int(offset) else {
                throw .invalidCache(.payloadMismatch("\(e) rows at \(offset) do not fit its pool of \(poolBytes[e.kind]!) bytes"))
            }
            return size
        }
        var heads: [KVPSummary.Head] = []
        var index = 0
        for s in t.meta.sequences.indices {
            for l in 0..<m.layerCount {
                for h in 0..<m.kvHeads {
                    let entry = t.heads[index]
                    index += 1
                    let first = Int(entry.firstPage), count = Int(entry.pageCount)
                    guard first <= t.pages.count, count <= t.pages.count - first else {
                        throw .invalidCache(.payloadMismatch("head \(index - 1) points at pages \(first)..<\(first + count) of \(t.pages.count)"))
                    }
                    var head = KVPSummary.Head(sequence: s, layer: l, head: h, tokens: 0, pages: count, bytes: HeadPages.directoryEntryBytes,
                                               positions: [], keyEncodings: [], valueEncodings: [])
                    for page in t.pages[first..<first + count] {
                        let n = Int(page.tokens), p0 = Int(page.positionsOffset)
                        guard p0 <= t.positions.count, n <= t.positions.count - p0 else {
                            throw .invalidCache(.payloadMismatch("page positions \(p0)..<\(p0 + n) outside the positions pool of \(t.positions.count)"))
                        }
                        head.tokens += n
                        head.positions += t.positions[p0..<p0 + n].map(Int.init)
                        head.keyEncodings += Array(repeating: page.keyEncoding, count: n)
                        head.valueEncodings += Array(repeating: page.valueEncoding, count: n)
                        head.bytes += Page.tableEntryBytes + 4 * n + (try payload(page.keyEncoding, offset: page.keyOffset, rows: n))
                            + (try payload(page.valueEncoding, offset: page.valueOffset, rows: n))
                    }
                    heads.append(head)
                }
            }
        }
        return KVPSummary(model: m, denseKVHeads: t.meta.denseKVHeads ?? m.kvHeads, pageSize: t.meta.pageSize, policy: t.meta.policy,
                          sequences: t.meta.sequences, heads: heads, payloadBytesByEncoding: poolBytes.filter { $0.value > 0 })
    }
}
