import Foundation

extension KVPFile {
    /// Where the decoder reads a file's bytes: all of them in memory, or ranges of an open file.
    struct ByteSource {
        let count: Int
        let read: (Range<Int>) throws(KVPFileError) -> ArraySlice<UInt8>
    }

    /// The most a header can say its format version is before it counts as damaged rather than
    /// newer.
    static let plausibleVersions: UInt32 = 255

    /// A file's preamble and section directory, checked against its size; sections load on demand.
    struct SectionReader {
        let source: ByteSource
        private(set) var entries: [Section: (codec: SectionCodec, range: Range<Int>, raw: UInt64)] = [:]

        init(_ source: ByteSource) throws(KVPFileError) {
            self.source = source
            let count = source.count
            guard count >= preambleBytes else {
                if count >= magic.count, Array(try source.read(0..<magic.count)) != magic { throw .notKVP(reason: "wrong magic") }
                throw .truncated(section: "preamble")
            }
            let preamble = try source.read(0..<preambleBytes)
            guard Array(preamble.prefix(magic.count)) == magic else { throw .notKVP(reason: "wrong magic") }
            var pre = ByteReader(preamble[(preamble.startIndex + magic.count)...], section: "preamble")
            let version = try pre.read(UInt32.self)
            guard version <= KVPFile.version else {
                guard version <= plausibleVersions else {
                    throw .corrupt(section: "preamble", reason: "format version \(version) is not one any KVPack wrote: the header is damaged")
                }
                throw .newerVersion(found: version, supported: KVPFile.version)
            }
            guard version >= 1 else { throw .corrupt(section: "preamble", reason: "version 0") }
            guard let dirCodec = SectionCodec(rawValue: try pre.read(UInt32.self)) else {
                throw .corrupt(section: "preamble", reason: "unknown directory codec")
            }
            let dirFrame = try pre.read(UInt64.self), dirRaw = try pre.read(UInt64.self)
            let sectionCount = Section.allCases.count
            guard dirRaw == UInt64(sectionCount * directoryEntryBytes) else {
                throw .corrupt(section: "directory", reason: "\(dirRaw) bytes; \(sectionCount * directoryEntryBytes) expected")
            }
            guard dirFrame <= UInt64(count - preambleBytes) else { throw .truncated(section: "directory") }
            let dirBytes = try dirCodec.decompress(try source.read(preambleBytes..<preambleBytes + Int(dirFrame)), rawSize: Int(dirRaw),
                                                   section: "directory")
            var dir = ByteReader(dirBytes[...], section: "directory")
            for _ in 0..<sectionCount {
                let kind = try dir.read(UInt32.self), codecRaw = try dir.read(UInt32.self)
                let offset = try dir.read(UInt64.self), size = try dir.read(UInt64.self), raw = try dir.read(UInt64.self)
                guard let section = Section(rawValue: kind), entries[section] == nil else {
                    throw .corrupt(section: "directory", reason: "unknown or repeated section kind \(kind)")
                }
                guard let codec = SectionCodec(rawValue: codecRaw) else {
                    throw .corrupt(section: "\(section)", reason: "unknown codec \(codecRaw)")
                }
                let sectionsStart = UInt64(preambleBytes) + dirFrame
                guard offset <= UInt64(count) - sectionsStart, size <= UInt64(count) - sectionsStart - offset else {
                    throw .truncated(section: "\(section)")
                }
                entries[section] = (codec, Int(sectionsStart + offset)..<Int(sectionsStart + offset + size), raw)
            }
        }

        /// The raw size the directory gives `section`, checked against what the other sections imply.
        func rawSize(_ section: Section, expected: ClosedRange<UInt64>) throws(KVPFileError) -> UInt64 {
            guard let e = entries[section] else { throw .corrupt(section: "\(section)", reason: "missing") }
            guard expected.contains(e.raw) else {
                throw .corrupt(section: "\(section)", reason: "says \(e.raw) bytes; the other sections imply \(expected)")
            }
            return e.raw
        }

        /// Checks `section`'s frame (size and checksum, after `rawSize`'s check), reading it in
        /// chunks of `chunk` bytes and keeping none of it.
        func verify(_ section: Section, expected: ClosedRange<UInt64>, chunk: Int = 4 << 20) throws(KVPFileError) {
            let raw = try rawSize(section, expected: expected)
            let e = entries[section]!
            var at = e.range.lowerBound
            try e.codec.verify(rawSize: Int(raw), frameSize: e.range.count, section: "\(section)") { () throws(KVPFileError) -> ArraySlice<UInt8>? in
                guard at < e.range.upperBound else { return nil }
                let end = min(e.range.upperBound, at + chunk)
                defer { at = end }
                return try source.read(at..<end)
            }
        }

        /// `section` decompressed (its checksum verified), after `rawSize`'s check.
        func load(_ section: Section, expected: ClosedRange<UInt64>) throws(KVPFileError) -> [UInt8] {
            let raw = try rawSize(section, expected: expected)
            let e = entries[section]!
            return try e.codec.decompress(try source.read(e.range), rawSize: Int(raw), section: "\(section)")
        }
    }

    /// A file's tables: metadata, head directory, page table and positions, each checked against
    /// the others, and the most bytes each pool can hold by them.
    struct Tables {
        var meta: Metadata
        var heads: [HeadDirectoryEntry] = []
        var pages: [PageTableEntry] = []
        var positions: [Int32] = []
        var poolLimit = [Int](repeating: 0, count: PageEncodingKind.allCases.count)

        init(_ reader: SectionReader) throws(KVPFileError) {
            let metaBytes = try reader.load(.metadata, expected: 2...UInt64(metadataLimit))
            do {
                meta = try JSONDecoder().decode(Metadata.self, from: Data(metaBytes))
            } catch {
                throw .corrupt(section: "metadata", reason: "\(error)")
            }
            let m = meta.model
            guard m.headDim <= 1 << 16, m.kvHeads <= 1 << 16, m.layerCount <= 1 << 16, meta.sequences.count <= 1 << 20,
                  (1...65535).contains(meta.pageSize), meta.sequences.allSatisfy({ (0...(1 << 40)).contains($0.originalTokens) })
            else { throw .corrupt(section: "metadata", reason: "dimensions beyond KVPack's limits") }
            let headCount = meta.sequences.count * m.layerCount * m.kvHeads
            let headBytes = try reader.load(.heads, expected: UInt64(8 * headCount)...UInt64(8 * headCount))
            var pageCount = 0
            var hr = ByteReader(headBytes[...], section: "heads")
            for _ in 0..<headCount {
                let entry = HeadDirectoryEntry(firstPage: try hr.read(UInt32.self), pageCount: try hr.read(UInt32.self))
                heads.append(entry)
                pageCount += Int(entry.pageCount)
            }
            let entryBytes = PageTableEntry.Layout.byteCount
            let pageBytes = try reader.load(.pages, expected: UInt64(entryBytes * pageCount)...UInt64(entryBytes * pageCount))
            var tokenCount = 0
            for i in 0..<pageCount {
                let entry: PageTableEntry
                do { entry = try PageTableEntry(bytes: pageBytes, at: i * entryBytes) } catch {
                    throw .corrupt(section: "pages", reason: "page \(i): \(error)")
                }
                pages.append(entry)
                let tokens = entry.tokens
                tokenCount += Int(tokens)
                for e in [entry.keyEncoding, entry.valueEncoding] {
                    // The most bytes this page's rows can take in the pool (bitmap: every element kept).
                    let most = e == .bitmap ? Int(tokens) * (8 * ((m.headDim + 63) / 64) + 4 + 2 * m.headDim)
                        : EncodedRows.byteCount(e, rows: Int(tokens), dim: m.headDim)
                    poolLimit[Int(e.kind.rawValue)] += most
                }
            }
            let positionBytes = try reader.load(.positions, expected: UInt64(4 * tokenCount)...UInt64(4 * tokenCount))
            positions.reserveCapacity(tokenCount)
            var posr = ByteReader(positionBytes[...], section: "positions")
            for _ in 0..<tokenCount { positions.append(Int32(bitPattern: try posr.read(UInt32.self))) }
        }
    }

    /// Decodes a `.kvp` file's bytes. Every length is checked against the file and against what
    /// the earlier sections imply before anything is allocated or decompressed.
    public static func decode(_ bytes: [UInt8]) throws(KVPFileError) -> CompressedCache {
        let all = bytes[...]
        let reader = try SectionReader(ByteSource(count: bytes.count) { (range: Range<Int>) throws(KVPFileError) in all[range] })
        let tables = try Tables(reader)
        var pools: [[UInt8]] = []
        for kind in PageEncodingKind.allCases {
            pools.append(try reader.load(.pool(kind), expected: 0...UInt64(tables.poolLimit[Int(kind.rawValue)])))
        }
        let meta = tables.meta
        let flat = FlatCache(model: meta.model, denseKVHeads: meta.denseKVHeads ?? meta.model.kvHeads, pageSize: meta.pageSize,
                             policy: meta.policy, sequences: meta.sequences, heads: tables.heads, pages: tables.pages,
                             positions: tables.positions, pools: pools)
        do {
            return try CompressedCache(flat: flat)
        } catch {
            throw .invalidCache(error)
        }
    }
}
