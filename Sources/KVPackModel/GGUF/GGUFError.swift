/// Why a GGUF file could not be read, or a request on it could not be served.
///
/// Every case names what was being read (a metadata key, a tensor) and, where it helps, the
/// absolute byte offset in the file, so a damaged or foreign file can be diagnosed from the
/// message alone.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped (`reason`: what the system said).
    case cannotOpen(path: String, reason: String)
    /// The first four bytes are not `GGUF`.
    case badMagic(found: [UInt8])
    /// A GGUF version this reader does not know (it reads versions 2 and 3).
    case unsupportedVersion(UInt32)
    /// Reading `what` at byte `offset` needs `needed` bytes, past the end of the file.
    case truncated(what: String, offset: Int, needed: Int)
    /// A length or count field at `offset` claims `claimed` items, more than the rest of the file can hold.
    case lengthBeyondFile(what: String, offset: Int, claimed: UInt64)
    /// A string at `offset` is not valid UTF-8.
    case invalidString(what: String, offset: Int)
    /// A metadata value type id that GGUF does not define.
    case invalidValueType(key: String, offset: Int, type: UInt32)
    /// Arrays nested deeper than the reader allows (GGUF files use one level).
    case nestingTooDeep(key: String, offset: Int)
    /// Two metadata entries with the same key.
    case duplicateKey(String)
    /// Two tensors with the same name.
    case duplicateTensor(String)
    /// `general.alignment` is not a positive power of two.
    case invalidAlignment(UInt64)
    /// A tensor has more dimensions than GGML allows (4), or a dimension whose product overflows.
    case invalidDimensions(tensor: String, dimensions: [UInt64])
    /// A tensor type id that GGML does not define.
    case unknownTensorType(tensor: String, type: UInt32)
    /// A tensor whose rows are not whole quantization blocks (row length not a multiple of the block size).
    case partialBlock(tensor: String, rowLength: Int, blockSize: Int)
    /// A tensor's data offset is not a multiple of the file's alignment.
    case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
    /// A tensor's data (`offset` from the data section, `byteCount` long) reaches past the end of the file.
    case tensorOutOfBounds(tensor: String, offset: UInt64, byteCount: Int, available: Int)
    /// A tensor type that is known but that this reader cannot dequantize.
    case unsupportedTensorType(tensor: String, type: GGMLType)
    /// No tensor of this name in the file.
    case tensorNotFound(String)
    /// A metadata key that is required but absent.
    case missingMetadata(key: String)
    /// A metadata value of another type than the one asked for.
    case metadataType(key: String, expected: String, found: String)
    /// A row range outside `0..<rowCount` of a tensor.
    case rowsOutOfRange(tensor: String, rows: Range<Int>, rowCount: Int)
    /// An output buffer whose size is not the number of elements asked for.
    case bufferSize(tensor: String, expected: Int, got: Int)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "\(path): cannot open (\(reason))"
        case .badMagic(let found):
            return "not a GGUF file: the first bytes are \(found.map { String($0, radix: 16) }) instead of 'GGUF'"
        case .unsupportedVersion(let v):
            let bigEndian = [2, 3].contains(v.byteSwapped) ? "; a big-endian file? only little-endian GGUF is read" : ""
            return "GGUF version \(v) is not supported (versions 2 and 3 are\(bigEndian))"
        case .truncated(let what, let offset, let needed):
            return "truncated file: \(what) at byte \(offset) needs \(needed) bytes past the end of the file"
        case .lengthBeyondFile(let what, let offset, let claimed):
            return "\(what) at byte \(offset) claims \(claimed) items, more than the file holds"
        case .invalidString(let what, let offset): return "\(what) at byte \(offset) is not valid UTF-8"
        case .invalidValueType(let key, let offset, let type):
            return "metadata '\(key)': value type \(type) at byte \(offset) is not a GGUF type"
        case .nestingTooDeep(let key, let offset): return "metadata '\(key)': arrays nested too deep at byte \(offset)"
        case .duplicateKey(let key): return "metadata key '\(key)' appears twice"
        case .duplicateTensor(let name): return "tensor '\(name)' appears twice"
        case .invalidAlignment(let a): return "general.alignment \(a) is not a positive power of two"
        case .invalidDimensions(let tensor, let dims): return "tensor '\(tensor)': invalid dimensions \(dims)"
        case .unknownTensorType(let tensor, let type): return "tensor '\(tensor)': tensor type id \(type) is not a GGML type"
        case .partialBlock(let tensor, let rowLength, let blockSize):
            return "tensor '\(tensor)': row length \(rowLength) is not a multiple of its block size \(blockSize)"
        case .misalignedTensor(let tensor, let offset, let alignment):
            return "tensor '\(tensor)': data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .tensorOutOfBounds(let tensor, let offset, let byteCount, let available):
            return "tensor '\(tensor)': \(byteCount) bytes at data offset \(offset) reach past the end of the data section (\(available) bytes)"
        case .unsupportedTensorType(let tensor, let type): return "tensor '\(tensor)': type \(type) cannot be dequantized by this reader"
        case .tensorNotFound(let name): return "no tensor named '\(name)'"
        case .missingMetadata(let key): return "metadata '\(key)' is missing"
        case .metadataType(let key, let expected, let found): return "metadata '\(key)' is \(found), expected \(expected)"
        case .rowsOutOfRange(let tensor, let rows, let rowCount):
            return "tensor '\(tensor)': rows \(rows.lowerBound)..<\(rows.upperBound) are outside 0..<\(rowCount)"
        case .bufferSize(let tensor, let expected, let got):
            return "tensor '\(tensor)': the output buffer holds \(got) floats, \(expected) expected"
        }
    }
}
