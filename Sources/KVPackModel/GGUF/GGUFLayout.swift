/// What a GGUF file's header, metadata and tensor table say, parsed and validated; the tensor
/// data is not touched.
///
/// File layout (little-endian): `GGUF` magic, UInt32 version, UInt64 tensor count, UInt64
/// metadata count; the metadata entries (string key, UInt32 value type, value); the tensor
/// infos (string name, UInt32 dimension count, UInt64 extents, UInt32 type, UInt64 offset);
/// padding to the alignment; the data section.
struct GGUFLayout {
    var version: UInt32
    var metadata: GGUFMetadata
    var tensors: [GGUFTensorInfo]
    var alignment: Int
    var dataOffset: Int

    /// Arrays of arrays deeper than this are refused (a hostile file could otherwise recurse
    /// until the stack overflows).
    static let maximumNesting = 4
    /// GGML's limit on tensor dimensions.
    static let maximumDimensions = 4

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(GGUFError) -> GGUFLayout {
        var cursor = GGUFByteCursor(bytes)
        guard bytes.count >= 4 else { throw .truncated(what: "magic", offset: 0, needed: 4) }
        let magic = Array(bytes[0..<4])
        guard magic == Array("GGUF".utf8) else { throw .badMagic(found: magic) }
        _ = try cursor.read(UInt32.self, "magic")
        let version = try cursor.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        // A tensor info takes at least 32 bytes (empty name, one dimension); a metadata entry 13.
        let tensorCount = try cursor.readCount("tensor count", minimumItemSize: 32)
        let entryCount = try cursor.readCount("metadata count", minimumItemSize: 13)

        var entries = [(String, GGUFValue)]()
        entries.reserveCapacity(entryCount)
        for i in 0..<entryCount {
            let key = try cursor.readString("metadata key \(i)")
            let typeOffset = cursor.offset
            let rawType = try cursor.read(UInt32.self, "type of metadata '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .invalidValueType(key: key, offset: typeOffset, type: rawType)
            }
            entries.append((key, try readValue(type, key: key, depth: 0, &cursor)))
        }
        let metadata = try GGUFMetadata(entries: entries)

        var alignment = 32
        if let raw = metadata["general.alignment"] {
            guard case .uint32(let a) = raw else {
                throw .metadataType(key: "general.alignment", expected: "uint32", found: raw.typeName)
            }
            guard a > 0, a & (a - 1) == 0 else { throw .invalidAlignment(UInt64(a)) }
            alignment = Int(a)
        }

        var infos = [(name: String, dims: [Int], type: GGMLType, offset: UInt64)]()
        infos.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try cursor.readString("name of tensor \(i)")
            let nDims = try cursor.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard nDims >= 1, nDims <= maximumDimensions else {
                throw .invalidDimensions(tensor: name, dimensions: [UInt64(nDims)])
            }
            var raw = [UInt64]()
            for d in 0..<Int(nDims) { raw.append(try cursor.read(UInt64.self, "dimension \(d) of tensor '\(name)'")) }
            let rawType = try cursor.read(UInt32.self, "type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unknownTensorType(tensor: name, type: rawType)
            }
            let offset = try cursor.read(UInt64.self, "data offset of tensor '\(name)'")
            guard let dims = checkedDimensions(raw) else { throw .invalidDimensions(tensor: name, dimensions: raw) }
            infos.append((name, dims, type, offset))
        }

        cursor.align(to: alignment)
        let dataOffset = cursor.offset
        let available = max(bytes.count - dataOffset, 0)
        var tensors = [GGUFTensorInfo]()
        tensors.reserveCapacity(infos.count)
        for info in infos {
            let rowLength = info.dims[0], block = info.type.blockSize
            guard rowLength % block == 0 else {
                throw .partialBlock(tensor: info.name, rowLength: rowLength, blockSize: block)
            }
            let elements = info.dims.reduce(1, *)  // checked in checkedDimensions
            let (byteCount, overflow) = (elements / block).multipliedReportingOverflow(by: info.type.bytesPerBlock)
            guard !overflow else { throw .invalidDimensions(tensor: info.name, dimensions: info.dims.map { UInt64($0) }) }
            guard info.offset % UInt64(alignment) == 0 else {
                throw .misalignedTensor(tensor: info.name, offset: info.offset, alignment: alignment)
            }
            guard info.offset <= UInt64(available), byteCount <= available - Int(info.offset) else {
                throw .tensorOutOfBounds(tensor: info.name, offset: info.offset, byteCount: byteCount, available: available)
            }
            tensors.append(GGUFTensorInfo(name: info.name, dimensions: info.dims, type: info.type, offset: Int(info.offset),
                                          byteCount: byteCount, elementCount: elements))
        }
        return GGUFLayout(version: version, metadata: metadata, tensors: tensors, alignment: alignment, dataOffset: dataOffset)
    }

    /// The extents as `Int`, or nil when one is beyond `Int` or their product overflows.
    private static func checkedDimensions(_ raw: [UInt64]) -> [Int]? {
        var product = 1
        var dims = [Int]()
        for d in raw {
            guard d <= UInt64(Int.max) else { return nil }
            let (p, overflow) = product.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { return nil }
            product = p
            dims.append(Int(d))
        }
        return dims
    }

    private static func readValue(_ type: GGUFValueType, key: String, depth: Int,
                                  _ cursor: inout GGUFByteCursor) throws(GGUFError) -> GGUFValue {
        let what = "value of metadata '\(key)'"
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, what))
        case .int8: return .int8(try cursor.read(Int8.self, what))
        case .uint16: return .uint16(try cursor.read(UInt16.self, what))
        case .int16: return .int16(try cursor.read(Int16.self, what))
        case .uint32: return .uint32(try cursor.read(UInt32.self, what))
        case .int32: return .int32(try cursor.read(Int32.self, what))
        case .uint64: return .uint64(try cursor.read(UInt64.self, what))
        case .int64: return .int64(try cursor.read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try cursor.read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try cursor.read(UInt64.self, what)))
        case .bool: return .bool(try cursor.read(UInt8.self, what) != 0)
        case .string: return .string(try cursor.readString(what))
        case .array: return .array(try readArray(key: key, depth: depth, &cursor))
        }
    }

    private static func readArray(key: String, depth: Int, _ cursor: inout GGUFByteCursor) throws(GGUFError) -> GGUFArray {
        let typeOffset = cursor.offset
        guard depth < maximumNesting else { throw .nestingTooDeep(key: key, offset: typeOffset) }
        let rawType = try cursor.read(UInt32.self, "element type of metadata '\(key)'")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw .invalidValueType(key: key, offset: typeOffset, type: rawType)
        }
        // Strings take at least their 8-byte length, arrays their 12-byte header.
        let minimum = type.fixedSize ?? (type == .string ? 8 : 12)
        let count = try cursor.readCount("length of array '\(key)'", minimumItemSize: minimum)
        func fixed<T: FixedWidthInteger>(_: T.Type, _ cursor: inout GGUFByteCursor) throws(GGUFError) -> [T] {
            var out = [T]()
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try cursor.read(T.self, "element of array '\(key)'")) }
            return out
        }
        switch type {
        case .uint8: return .uint8(try fixed(UInt8.self, &cursor))
        case .int8: return .int8(try fixed(Int8.self, &cursor))
        case .uint16: return .uint16(try fixed(UInt16.self, &cursor))
        case .int16: return .int16(try fixed(Int16.self, &cursor))
        case .uint32: return .uint32(try fixed(UInt32.self, &cursor))
        case .int32: return .int32(try fixed(Int32.self, &cursor))
        case .uint64: return .uint64(try fixed(UInt64.self, &cursor))
        case .int64: return .int64(try fixed(Int64.self, &cursor))
        case .float32: return .float32(try fixed(UInt32.self, &cursor).map { Float(bitPattern: $0) })
        case .float64: return .float64(try fixed(UInt64.self, &cursor).map { Double(bitPattern: $0) })
        case .bool: return .bool(try fixed(UInt8.self, &cursor).map { $0 != 0 })
        case .string:
            var out = [String]()
            out.reserveCapacity(count)
            for i in 0..<count { out.append(try cursor.readString("element \(i) of array '\(key)'")) }
            return .string(out)
        case .array:
            var out = [GGUFArray]()
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try readArray(key: key, depth: depth + 1, &cursor)) }
            return .array(out)
        }
    }
}
