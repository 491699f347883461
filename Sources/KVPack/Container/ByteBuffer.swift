/// Little-endian writer for the `.kvp` binary sections.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
}

/// Bounds-checked little-endian reader: reading past the end throws instead of trapping.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    private(set) var offset: Int
    let section: String

    init(_ bytes: ArraySlice<UInt8>, section: String) {
        self.bytes = bytes
        self.offset = bytes.startIndex
        self.section = section
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws(KVPFileError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.endIndex - offset >= size else { throw .truncated(section: section) }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { dst in
            for i in 0..<size { dst[i] = bytes[offset + i] }
        }
        offset += size
        return T(littleEndian: value)
    }

    var remaining: Int { bytes.endIndex - offset }
}
