import CLZ4

/// lz4 frames with the content checksum on: the only importer of CLZ4.
enum LZ4Frame {
    static func compress(_ data: [UInt8]) throws(KVPFileError) -> [UInt8] {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        prefs.frameInfo.contentSize = UInt64(data.count)
        var out = [UInt8](repeating: 0, count: LZ4F_compressFrameBound(data.count, &prefs))
        let written = out.withUnsafeMutableBytes { o in
            data.withUnsafeBytes { i in LZ4F_compressFrame(o.baseAddress, o.count, i.baseAddress, i.count, &prefs) }
        }
        guard LZ4F_isError(written) == 0 else {
            throw .codec(section: "", reason: "lz4: \(String(cString: LZ4F_getErrorName(written)))")
        }
        out.removeSubrange(written...)
        return out
    }

    static func decompress(_ data: ArraySlice<UInt8>, rawSize: Int, section: String) throws(KVPFileError) -> [UInt8] {
        var dctx: OpaquePointer? = nil
        guard LZ4F_isError(LZ4F_createDecompressionContext(&dctx, UInt32(LZ4F_VERSION))) == 0, let dctx else {
            throw .codec(section: section, reason: "lz4: out of memory")
        }
        defer { LZ4F_freeDecompressionContext(dctx) }
        var out = [UInt8](repeating: 0, count: max(1, rawSize)) // never an empty buffer's nil base
        var info = LZ4F_frameInfo_t()
        var consumed = data.count
        let headerStatus = data.withUnsafeBytes { LZ4F_getFrameInfo(dctx, &info, $0.baseAddress, &consumed) }
        guard LZ4F_isError(headerStatus) == 0 else { throw .corrupt(section: section, reason: "not an lz4 frame") }
        guard info.contentChecksumFlag == LZ4F_contentChecksumEnabled else {
            throw .corrupt(section: section, reason: "lz4 frame without a content checksum")
        }
        guard info.contentSize == UInt64(rawSize) else {
            throw .corrupt(section: section, reason: "frame holds \(info.contentSize) bytes; the directory says \(rawSize)")
        }
        var inOffset = consumed, outOffset = 0
        var status = headerStatus
        while status != 0 {
            var srcSize = data.count - inOffset
            var dstSize = max(1, rawSize) - outOffset
            guard srcSize > 0 else { throw .corrupt(section: section, reason: "lz4 frame is truncated") }
            status = out.withUnsafeMutableBytes { o in
                data.withUnsafeBytes { i in
                    LZ4F_decompress(dctx, o.baseAddress! + outOffset, &dstSize, i.baseAddress! + inOffset, &srcSize, nil)
                }
            }
            guard LZ4F_isError(status) == 0 else {
                throw .checksumMismatch(section: section, reason: String(cString: LZ4F_getErrorName(status)))
            }
            inOffset += srcSize
            outOffset += dstSize
            if srcSize == 0 && dstSize == 0 && status != 0 { throw .corrupt(section: section, reason: "lz4 frame makes no progress") }
        }
        guard outOffset == rawSize, inOffset == data.count else {
            throw .corrupt(section: section, reason: "lz4 frame decoded \(outOffset) of \(rawSize) bytes, used \(inOffset) of \(data.count)")
        }
        return Array(out.prefix(rawSize))
    }

    /// `ZstdFrame.verify` for an lz4 frame: decoded into a reused scratch buffer (the frame keeps
    /// its own copy of the window it needs), size and checksum checked.
    static func verify(rawSize: Int, section: String, next: () throws(KVPFileError) -> ArraySlice<UInt8>?) throws(KVPFileError) {
        var dctx: OpaquePointer? = nil
        guard LZ4F_isError(LZ4F_createDecompressionContext(&dctx, UInt32(LZ4F_VERSION))) == 0, let dctx else {
            throw .codec(section: section, reason: "lz4: out of memory")
        }
        defer { LZ4F_freeDecompressionContext(dctx) }
        var scratch = [UInt8](repeating: 0, count: 1 << 17)
        var produced = 0, status = 1
        while status != 0, let chunk = try next() {
            var consumed = 0
            while consumed < chunk.count && status != 0 {
                var srcSize = chunk.count - consumed, dstSize = scratch.count
                status = chunk.withUnsafeBytes { i in
                    scratch.withUnsafeMutableBytes { o in LZ4F_decompress(dctx, o.baseAddress, &dstSize, i.baseAddress! + consumed, &srcSize, nil) }
                }
                guard LZ4F_isError(status) == 0 else {
                    throw .checksumMismatch(section: section, reason: String(cString: LZ4F_getErrorName(status)))
                }
                consumed += srcSize
                produced += dstSize
            }
        }
        guard status == 0 else { throw .corrupt(section: section, reason: "lz4 frame is truncated") }
        guard produced == rawSize else { throw .corrupt(section: section, reason: "lz4 frame decoded \(produced) of \(rawSize) bytes") }
    }
}
