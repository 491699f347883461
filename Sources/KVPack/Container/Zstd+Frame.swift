import CZstd

/// zstd frames with the content checksum on: the only importer of CZstd.
enum ZstdFrame {
    static func compress(_ data: [UInt8]) throws(KVPFileError) -> [UInt8] {
        guard let cctx = ZSTD_createCCtx() else { throw .codec(section: "", reason: "zstd: out of memory") }
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
        let written = out.withUnsafeMutableBytes { o in
            data.withUnsafeBytes { i in ZSTD_compress2(cctx, o.baseAddress, o.count, i.baseAddress, i.count) }
        }
        guard ZSTD_isError(written) == 0 else {
            throw .codec(section: "", reason: "zstd: \(String(cString: ZSTD_getErrorName(written)))")
        }
        out.removeSubrange(written...)
        return out
    }

    static func decompress(_ data: ArraySlice<UInt8>, rawSize: Int, section: String) throws(KVPFileError) -> [UInt8] {
        // Frame layout (RFC 8878): magic FD 2F B5 28, then the frame header descriptor whose
        // bit 2 is the content-checksum flag.
        let header: (size: UInt64, checksum: Bool)? = data.withUnsafeBytes { raw in
            guard raw.count >= 5, raw[0] == 0x28, raw[1] == 0xB5, raw[2] == 0x2F, raw[3] == 0xFD else { return nil }
            let size = ZSTD_getFrameContentSize(raw.baseAddress, raw.count)
            guard size != ZSTD_CONTENTSIZE_ERROR, size != ZSTD_CONTENTSIZE_UNKNOWN else { return nil }
            return (size, raw[4] & 0x04 != 0)
        }
        guard let header, header.checksum else { throw .corrupt(section: section, reason: "not a checksummed zstd frame") }
        guard header.size == UInt64(rawSize) else {
            throw .corrupt(section: section, reason: "frame holds \(header.size) bytes; the directory says \(rawSize)")
        }
        var out = [UInt8](repeating: 0, count: max(1, rawSize)) // never an empty buffer's nil base
        let got = out.withUnsafeMutableBytes { o in
            data.withUnsafeBytes { i in ZSTD_decompress(o.baseAddress, rawSize, i.baseAddress, i.count) }
        }
        guard ZSTD_isError(got) == 0 else {
            throw .checksumMismatch(section: section, reason: String(cString: ZSTD_getErrorName(got)))
        }
        guard got == rawSize else { throw .corrupt(section: section, reason: "decompressed \(got) of \(rawSize) bytes") }
        return Array(out.prefix(rawSize))
    }

    /// Decodes the frame that `next` hands over in chunks (nil at its end) into a small scratch
    /// buffer it discards, and checks that it holds `rawSize` bytes and that its checksum matches:
    /// a section verified without holding it.
    static func verify(rawSize: Int, section: String, next: () throws(KVPFileError) -> ArraySlice<UInt8>?) throws(KVPFileError) {
        guard let dctx = ZSTD_createDCtx() else { throw .codec(section: section, reason: "zstd: out of memory") }
        defer { ZSTD_freeDCtx(dctx) }
        var scratch = [UInt8](repeating: 0, count: 1 << 17)
        var produced = 0, remaining = 1 // ZSTD_decompressStream's hint: 0 once the frame is complete and checked
        while let chunk = try next() {
            var consumed = 0
            while consumed < chunk.count {
                let status = chunk.withUnsafeBytes { i in
                    scratch.withUnsafeMutableBytes { o in
                        var input = ZSTD_inBuffer(src: i.baseAddress, size: i.count, pos: consumed)
                        var output = ZSTD_outBuffer(dst: o.baseAddress, size: o.count, pos: 0)
                        let r = ZSTD_decompressStream(dctx, &output, &input)
                        consumed = input.pos
                        produced += output.pos
                        return r
                    }
                }
                guard ZSTD_isError(status) == 0 else {
                    throw .checksumMismatch(section: section, reason: String(cString: ZSTD_getErrorName(status)))
                }
                remaining = status
                if status == 0 { break }
            }
        }
        guard remaining == 0 else { throw .corrupt(section: section, reason: "zstd frame is truncated") }
        guard produced == rawSize else { throw .corrupt(section: section, reason: "decompressed \(produced) of \(rawSize) bytes") }
    }
}
