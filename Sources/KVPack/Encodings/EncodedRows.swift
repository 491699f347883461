/// The keys or values of one page in one encoding: `rows` rows of `dim` elements, as bytes.
///
/// Payload layouts (little-endian), with `n = rows`, `d = dim`:
/// - `f16`: `[n, d]` halves: `2·n·d` bytes.
/// - `int8(g)`: codes `[n, d]` (`n·d` bytes), then per group an f16 scale and an f16 zero point
///   (4 bytes): groups are `[n, d/g]` for the token axis, `[ceil(n/g), d]` for the channel axis.
/// - `int4(g)`: codes packed two per byte, element `2i` in the low nibble (`n·d/2` bytes), then the
///   group parameters as for int8.
/// - `bitmap`: per row `ceil(d/64)` 64-bit masks (bit `b` of mask `w` marks element `64w + b`),
///   then per row the u32 index of its first nonzero, then the nonzeros as f16 in row order.
///
/// A value decodes as `code · scale + zero` (quantized) or as stored (f16, bitmap nonzeros);
/// decoded rows are f16, the precision captures have.
public struct EncodedRows: Sendable, Hashable {
    public let encoding: PageEncoding
    public let rows: Int
    public let dim: Int
    /// Nonzeros of a bitmap payload (0 for other encodings).
    public let nonzeros: Int
    /// The encoded bytes, laid out as above.
    public let payload: [UInt8]

    /// Wraps a payload read from storage, checking its size against the encoding.
    /// - Throws: `LayoutError.payloadMismatch` when sizes or bitmap offsets disagree.
    public init(encoding: PageEncoding, rows: Int, dim: Int, payload: [UInt8]) throws(LayoutError) {
        guard rows >= 0, dim > 0, dim % 2 == 0 else { throw .payloadMismatch("rows \(rows), dim \(dim)") }
        try EncodedRows.validate(encoding, dim: dim)
        var nonzeros = 0
        if encoding == .bitmap {
            let words = (dim + 63) / 64
            let head = rows * (8 * words + 4)
            guard payload.count >= head else { throw .payloadMismatch("bitmap payload of \(payload.count) bytes for \(rows) rows") }
            var running = 0
            for r in 0..<rows {
                guard Int(payload.loadLE(UInt32.self, at: rows * 8 * words + 4 * r)) == running else {
                    throw .payloadMismatch("bitmap row \(r) offset does not follow the masks")
                }
                for w in 0..<words {
                    let mask = payload.loadLE(UInt64.self, at: 8 * (r * words + w))
                    if w == words - 1, dim % 64 != 0, mask >> UInt64(dim % 64) != 0 {
                        throw .payloadMismatch("bitmap row \(r) marks elements beyond dim \(dim)")
                    }
                    running += mask.nonzeroBitCount
                }
            }
            nonzeros = running
        }
        let expected = EncodedRows.byteCount(encoding, rows: rows, dim: dim, nonzeros: nonzeros)
        guard payload.count == expected else {
            throw .payloadMismatch("\(encoding) payload for \(rows)x\(dim) needs \(expected) bytes, has \(payload.count)")
        }
        self.encoding = encoding
        self.rows = rows
        self.dim = dim
        self.nonzeros = nonzeros
        self.payload = payload
    }

    init(unchecked encoding: PageEncoding, rows: Int, dim: Int, nonzeros: Int, payload: [UInt8]) {
        self.encoding = encoding
        self.rows = rows
        self.dim = dim
        self.nonzeros = nonzeros
        self.payload = payload
    }

    /// Bytes of the payload of `rows` rows (exact; for bitmap, given its nonzero count).
    public static func byteCount(_ encoding: PageEncoding, rows: Int, dim: Int, nonzeros: Int = 0) -> Int {
        switch encoding {
        case .f16:
            return 2 * rows * dim
        case .int8(let g):
            return rows * dim + 4 * groupCount(g, rows: rows, dim: dim)
        case .int4(let g):
            return rows * dim / 2 + 4 * groupCount(g, rows: rows, dim: dim)
        case .bitmap:
            return rows * (8 * ((dim + 63) / 64) + 4) + 2 * nonzeros
        }
    }

    static func groupCount(_ g: QuantizationGrouping, rows: Int, dim: Int) -> Int {
        g.axis == .token ? rows * (dim / g.groupSize) : ((rows + g.groupSize - 1) / g.groupSize) * dim
    }

    /// Checks the encoding's parameters against the head dim.
    public static func validate(_ encoding: PageEncoding, dim: Int) throws(LayoutError) {
        guard let g = encoding.grouping else { return }
        guard g.groupSize > 0, g.axis == .channel || dim % g.groupSize == 0 else {
            throw .invalidGroupSize(g.groupSize, headDim: dim, axis: g.axis)
        }
    }

    /// Payload bytes.
    public var byteCount: Int { payload.count }
}

extension Array where Element == UInt8 {
    @inline(__always)
    func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    @inline(__always)
    mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }
}
