/// A bounds-checked little-endian reader over a GGUF file's bytes: every read names what it
/// reads, so running off the end becomes `GGUFError.truncated` with the offset, never a trap.
struct GGUFByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Bytes left after the current offset.
    var remaining: Int { max(bytes.count - offset, 0) }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size, let base = bytes.baseAddress else {
            throw .truncated(what: what(), offset: offset, needed: size)
        }
        let value = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    /// A UInt64 length or count that must fit in the rest of the file when each item takes at
    /// least `minimumItemSize` bytes; refused before anything is allocated for it.
    mutating func readCount(_ what: @autoclosure () -> String, minimumItemSize: Int) throws(GGUFError) -> Int {
        let at = offset
        let claimed = try read(UInt64.self, what())
        guard claimed <= UInt64(remaining / max(minimumItemSize, 1)) else {
            throw .lengthBeyondFile(what: what(), offset: at, claimed: claimed)
        }
        return Int(claimed)
    }

    /// A GGUF string: UInt64 byte length, then UTF-8 bytes (no terminator).
    mutating func readString(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let length = try readCount(what(), minimumItemSize: 1)
        let start = offset
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])
        offset += length
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw .invalidString(what: what(), offset: start)
        }
        return string
    }

    /// Skips forward to the next multiple of `alignment` (a power of two).
    mutating func align(to alignment: Int) {
        let padding = (alignment - offset % alignment) % alignment
        offset += padding
    }
}
