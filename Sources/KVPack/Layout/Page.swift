/// Up to `pageSize` kept tokens of one KV head: their original positions, and their keys and
/// values each in one encoding.
public struct Page: Sendable, Hashable {
    /// Original token positions, strictly increasing, `[tokens]`.
    public let positions: [Int32]
    public let keys: EncodedRows
    public let values: EncodedRows

    /// - Throws: `LayoutError` when row counts, dims or positions disagree.
    public init(positions: [Int32], keys: EncodedRows, values: EncodedRows) throws(LayoutError) {
        guard keys.rows == positions.count, values.rows == positions.count, keys.dim == values.dim, !positions.isEmpty else {
            throw .shapeMismatch(expected: [positions.count, keys.dim], found: [keys.rows, values.rows, values.dim])
        }
        for i in positions.indices where positions[i] < 0 || (i > 0 && positions[i] <= positions[i - 1]) {
            throw .positionsNotIncreasing(index: i)
        }
        self.positions = positions
        self.keys = keys
        self.values = values
    }

    /// Encodes `positions.count` key and value rows of `dim` halves each.
    public static func encode(positions: [Int32], keys: [Float16], values: [Float16], dim: Int,
                              keyEncoding: PageEncoding, valueEncoding: PageEncoding,
                              keySparsity: Double = 0.5, valueSparsity: Double = 0.5) throws(LayoutError) -> Page {
        let k = try EncodedRows.encode(keys, rows: positions.count, dim: dim, as: keyEncoding, sparsity: keySparsity)
        let v = try EncodedRows.encode(values, rows: positions.count, dim: dim, as: valueEncoding, sparsity: valueSparsity)
        return try Page(positions: positions, keys: k, values: v)
    }

    public var tokenCount: Int { positions.count }

    /// Bytes of one page-table entry (see `PageTableEntry`).
    public static let tableEntryBytes = PageTableEntry.Layout.byteCount

    /// Exact bytes this page occupies: its page-table entry, 4 bytes per token position, and the
    /// key and value payloads.
    public var byteCount: Int { Page.tableEntryBytes + 4 * tokenCount + keys.byteCount + values.byteCount }
}
