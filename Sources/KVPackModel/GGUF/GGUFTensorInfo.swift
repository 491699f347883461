/// One entry of a GGUF file's tensor table.
///
/// Dimensions are in GGML order: `dimensions[0]` is the innermost, contiguous one (the row
/// length); a weight matrix `[out, in]` in PyTorch terms is stored as `dimensions == [in, out]`,
/// `out` rows of `in` elements. `shape` gives the row-major (NumPy) order.
public struct GGUFTensorInfo: Sendable, Hashable {
    /// The tensor's name (`blk.0.attn_q.weight`).
    public let name: String
    /// Extents in GGML order (innermost first), 1 to 4 of them.
    public let dimensions: [Int]
    /// The element type.
    public let type: GGMLType
    /// Byte offset of the data from the start of the file's data section.
    public let offset: Int
    /// Bytes of data (whole blocks).
    public let byteCount: Int
    /// Number of elements (product of the dimensions).
    public let elementCount: Int

    /// Extents in row-major order (outermost first), as NumPy and the `gguf` package's data show them.
    public var shape: [Int] { dimensions.reversed() }

    /// Elements per row: `dimensions[0]`.
    public var rowLength: Int { dimensions.first ?? 1 }

    /// Number of rows: the product of every dimension but the first.
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }

    /// Bytes of one row.
    public var bytesPerRow: Int { rowLength / type.blockSize * type.bytesPerBlock }
}
