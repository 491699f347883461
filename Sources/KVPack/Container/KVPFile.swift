import Foundation

/// The `.kvp` container: a compressed cache on disk.
///
/// Layout (little-endian):
/// - preamble, 32 bytes: magic `89 'K' 'V' 'P' 0D 0A 1A 0A`, version u32 (1), directory codec u32,
///   directory frame size u64, directory raw size u64;
/// - the section directory, one zstd frame: per section kind u32, codec u32, offset u64 (from
///   the end of the directory frame), frame size u64, raw size u64 (32 bytes);
/// - the sections, each one zstd (default) or lz4 frame carrying the codec's content checksum:
///   `metadata` (JSON: KVPack version, model facts, page size, policy spec, sequences, and
///   `denseKVHeads`, the model's KV heads when the stored heads repeat them), `heads`
///   (the head directory, 8 bytes a head), `pages` (the page table, 32 bytes a page),
///   `positions` (u32 a token), and one pool per encoding (`f16`, `int8`, `int4`, `bitmap`).
///
/// Reading checks every length against what the other sections imply before allocating, and
/// rebuilds the cache through `CompressedCache(flat:)`, which checks every page against its pool.
/// Writing goes to a temporary file that is renamed into place.
public enum KVPFile {
    public static let magic: [UInt8] = [0x89, 0x4B, 0x56, 0x50, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let version: UInt32 = 1
    static let preambleBytes = 32
    static let directoryEntryBytes = 32
    static let metadataLimit = 64 << 20

    enum Section: UInt32, CaseIterable, CustomStringConvertible {
        case metadata = 1, heads, pages, positions, poolF16, poolInt8, poolInt4, poolBitmap
        var description: String {
            ["metadata", "heads", "pages", "positions", "f16 pool", "int8 pool", "int4 pool", "bitmap pool"][Int(rawValue) - 1]
        }
        static func pool(_ kind: PageEncodingKind) -> Section { Section(rawValue: 5 + UInt32(kind.rawValue))! }
    }

    struct Metadata: Codable {
        var kvpackVersion: String
        var model: ModelFacts
        var pageSize: Int
        var policy: String
        var sequences: [FlatCache.SequenceInfo]
        /// The model's KV heads when the stored heads repeat them; absent in files written before
        /// it was recorded (then the stored heads).
        var denseKVHeads: Int?
    }

    /// The file's bytes.
    public static func encode(_ cache: CompressedCache, codec: SectionCodec = .zstd, kvpackVersion: String = "0.1.0") throws(KVPFileError) -> [UInt8] {
        let flat = cache.flattened()
        var raw: [(Section, [UInt8])] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let meta = Metadata(kvpackVersion: kvpackVersion, model: flat.model, pageSize: flat.pageSize, policy: flat.policy,
                            sequences: flat.sequences, denseKVHeads: flat.denseKVHeads)
        guard let json = try? encoder.encode(meta) else { throw .codec(section: "metadata", reason: "JSON encoding failed") }
        raw.append((.metadata, [UInt8](json)))
        var heads = ByteWriter()
        for h in flat.heads { heads.write(h.firstPage); heads.write(h.pageCount) }
        raw.append((.heads, heads.bytes))
        var pages: [UInt8] = []
        pages.reserveCapacity(flat.pages.count * PageTableEntry.Layout.byteCount)
        for p in flat.pages {
            do { try p.append(to: &pages) } catch { throw .invalidCache(error) }
        }
        raw.append((.pages, pages))
        var positions = ByteWriter()
        for p in flat.positions { positions.write(UInt32(bitPattern: p)) }
        raw.append((.positions, positions.bytes))
        for kind in PageEncodingKind.allCases { raw.append((.pool(kind), flat.pools[Int(kind.rawValue)])) }

        var body: [UInt8] = []
        var directory = ByteWriter()
        var frames: [[UInt8]] = []
        for (_, data) in raw { frames.append(try codec.compress(data)) }
        var relative = 0
        var entries: [(Section, Int, Int, Int)] = []
        for ((section, data), frame) in zip(raw, frames) {
            entries.append((section, relative, frame.count, data.count))
            relative += frame.count
            body.append(contentsOf: frame)
        }
        // Section offsets count from the end of the directory frame, so the directory does not
        // depend on its own compressed size.
        directory = ByteWriter()
        for (section, offset, size, rawSize) in entries {
            directory.write(section.rawValue)
            directory.write(codec.rawValue)
            directory.write(UInt64(offset))
            directory.write(UInt64(size))
            directory.write(UInt64(rawSize))
        }
        let dirFrame = try SectionCodec.zstd.compress(directory.bytes)
        var out = ByteWriter()
        out.write(magic)
        out.write(version)
        out.write(SectionCodec.zstd.rawValue)
        out.write(UInt64(dirFrame.count))
        out.write(UInt64(directory.bytes.count))
        out.write(dirFrame)
        out.write(body)
        return out.bytes
    }

    /// Writes `cache` to `path` atomically: a temporary file beside it (`TemporaryFiles`, removed on
    /// an error or an interrupt), renamed into place with interrupts held off.
    public static func write(_ cache: CompressedCache, to path: String, codec: SectionCodec = .zstd,
                             overwrite: Bool = false, kvpackVersion: String = "0.1.0") throws(KVPFileError) {
        if !overwrite && FileManager.default.fileExists(atPath: path) { throw .outputExists(path) }
        let bytes = try encode(cache, codec: codec, kvpackVersion: kvpackVersion)
        let temporary = TemporaryFiles.path(beside: path)
        let token = TemporaryFiles.register(temporary)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        } catch {
            TemporaryFiles.remove(token)
            throw .cannotCreate(file: path, reason: (error as NSError).localizedDescription)
        }
        do {
            try TemporaryFiles.holdingSignals(releasing: token) { () throws(KVPFileError) in
                if !overwrite && FileManager.default.fileExists(atPath: path) { throw .outputExists(path) }
                guard rename(temporary, path) == 0 else { throw .cannotCreate(file: path, reason: String(cString: strerror(errno))) }
            }
        } catch {
            TemporaryFiles.remove(token)
            throw error
        }
    }

    /// Reads a cache from `path`; errors name the file.
    public static func read(from path: String) throws(KVPFileError) -> CompressedCache {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(path) }
        do {
            return try decode([UInt8](data))
        } catch {
            throw .file(path, error)
        }
    }
}
