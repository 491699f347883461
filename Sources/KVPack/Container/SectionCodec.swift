/// How a `.kvp` section is compressed. Both wrap the data in the codec's own frame with its
/// content checksum (zstd: XXH64-based; lz4: XXH32), so a flipped byte is caught on reading.
public enum SectionCodec: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// zstd level 3: the default, smaller files.
    case zstd = 1
    /// lz4 frames: faster to write and read (`--fast`).
    case lz4 = 2

    public var description: String { self == .zstd ? "zstd" : "lz4" }

    /// The most raw bytes one frame byte can stand for: zstd's RLE blocks give 4 bytes for up to
    /// 128 KiB (32768:1); lz4 sequences top out near 255:1. A directory that claims more is lying,
    /// and is refused before anything is allocated.
    var maxExpansion: Int { self == .zstd ? 32_768 : 256 }

    /// `data` compressed into one checksummed frame.
    func compress(_ data: [UInt8]) throws(KVPFileError) -> [UInt8] {
        switch self {
        case .zstd: return try ZstdFrame.compress(data)
        case .lz4: return try LZ4Frame.compress(data)
        }
    }

    /// Checks a frame handed over in chunks by `next` (nil at its end): it must decode to exactly
    /// `rawSize` bytes with a matching checksum. Memory stays at a small scratch buffer.
    func verify(rawSize: Int, frameSize: Int, section: String, next: () throws(KVPFileError) -> ArraySlice<UInt8>?) throws(KVPFileError) {
        guard rawSize <= (frameSize + 64) * maxExpansion else {
            throw .corrupt(section: section, reason: "claims \(rawSize) bytes from a \(frameSize)-byte \(self) frame")
        }
        switch self {
        case .zstd: try ZstdFrame.verify(rawSize: rawSize, section: section, next: next)
        case .lz4: try LZ4Frame.verify(rawSize: rawSize, section: section, next: next)
        }
    }

    /// The frame `data` decompressed, which must hold exactly `rawSize` bytes.
    func decompress(_ data: ArraySlice<UInt8>, rawSize: Int, section: String) throws(KVPFileError) -> [UInt8] {
        guard rawSize <= (data.count + 64) * maxExpansion else {
            throw .corrupt(section: section, reason: "claims \(rawSize) bytes from a \(data.count)-byte \(self) frame")
        }
        switch self {
        case .zstd: return try ZstdFrame.decompress(data, rawSize: rawSize, section: section)
        case .lz4: return try LZ4Frame.decompress(data, rawSize: rawSize, section: section)
        }
    }
}
