import CKVPackHalf

/// A head's queries rounded to int16 for the int8 pages' integer q·k (`kvp_int8_queries_prepare`),
/// made on the first int8 page that asks and kept for the head's other pages of the same group
/// size (made again for another). Owns its buffer: `release()` frees it.
struct PreparedInt8Queries {
    private let queries: UnsafePointer<Float>
    private let count: Int
    private let dim: Int
    private var groupSize = 0
    private var buffer: UnsafeMutableRawPointer?
    private var capacity = 0

    /// `queries`: `[count, dim]`, finite.
    init(queries: UnsafePointer<Float>, count: Int, dim: Int) {
        self.queries = queries
        self.count = count
        self.dim = dim
    }

    /// The prepared block for groups of `groupSize` channels, or nil where the integer path does
    /// not take that layout (the fp32 int8 kernel then reads the page).
    mutating func prepare(groupSize g: Int) -> UnsafeRawPointer? {
        if let buffer, groupSize == g { return UnsafeRawPointer(buffer) }
        let bytes = kvp_int8_queries_bytes(count, dim, g)
        guard bytes > 0 else { return nil }
        if bytes > capacity {
            buffer?.deallocate()
            buffer = .allocate(byteCount: bytes, alignment: 32)
            capacity = bytes
        }
        kvp_int8_queries_prepare(queries, count, dim, g, buffer!)
        groupSize = g
        return UnsafeRawPointer(buffer!)
    }

    func release() { buffer?.deallocate() }
}
