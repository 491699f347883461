extension EncodedRows {
    /// Encodes `rows` rows of `dim` half values (`values.count == rows * dim`).
    /// - Parameters:
    ///   - values: the rows, `[rows, dim]`.
    ///   - rows: how many rows.
    ///   - dim: elements per row (even).
    ///   - encoding: the encoding to write.
    ///   - sparsity: for `bitmap`, the share of each row pruned: each row keeps its
    ///     `dim - floor(sparsity · dim)` largest-magnitude elements (at least one), ties to the
    ///     lower index.
    /// - Throws: `LayoutError` for bad parameters, a count mismatch, or NaN/infinity.
    public static func encode(_ values: [Float16], rows: Int, dim: Int, as encoding: PageEncoding,
                              sparsity: Double = 0.5) throws(LayoutError) -> EncodedRows {
        guard rows >= 0, dim > 0, dim % 2 == 0, values.count == rows * dim else {
            throw .shapeMismatch(expected: [rows, dim], found: [values.count])
        }
        try validate(encoding, dim: dim)
        if let bad = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / dim, dim: bad % dim) }
        switch encoding {
        case .f16:
            return F16Rows.encode(values, rows: rows, dim: dim)
        case .int8(let g):
            return QuantizedRows.encode(values, rows: rows, dim: dim, bits: 8, grouping: g)
        case .int4(let g):
            return QuantizedRows.encode(values, rows: rows, dim: dim, bits: 4, grouping: g)
        case .bitmap:
            guard (0..<1).contains(sparsity) else { throw .invalidSparsity(sparsity) }
            return BitmapRows.encode(values, rows: rows, dim: dim, sparsity: sparsity)
        }
    }

    /// The rows decoded to half precision, `[rows, dim]` (pruned bitmap elements are 0).
    public func decode() -> [Float16] {
        [Float16](unsafeUninitializedCapacity: rows * dim) { out, initialized in
            decode(into: out)
            initialized = rows * dim
        }
    }

    /// Decodes into `out` (at least `rows * dim` elements).
    func decode(into out: UnsafeMutableBufferPointer<Float16>) {
        precondition(out.count >= rows * dim)
        switch encoding {
        case .f16: F16Rows.decode(self, into: out)
        case .int8, .int4: QuantizedRows.decode(self, into: out)
        case .bitmap: BitmapRows.decode(self, into: out)
        }
    }
}
