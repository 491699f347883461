extension EncodedRows {
    /// Whether each row's bytes stand alone (f16, token-axis int8 / int4, bitmap), so rows can
    /// move between pages without decoding; channel-axis groups span rows.
    public var rowsStandAlone: Bool { encoding.rowsStandAlone }

    /// The rows `picks` (each an `EncodedRows` and a row of it) gathered into one `EncodedRows`
    /// without decoding: the same bytes per row. Every source must have `encoding` and `dim`, and
    /// stand alone (`rowsStandAlone`).
    /// - Throws: `LayoutError.payloadMismatch` when a source differs or does not stand alone.
    public static func gathering(_ picks: [(rows: EncodedRows, row: Int)], encoding: PageEncoding, dim: Int) throws(LayoutError) -> EncodedRows {
        for (src, r) in picks {
            guard src.encoding == encoding, src.dim == dim, src.rowsStandAlone, (0..<src.rows).contains(r) else {
                throw .payloadMismatch("cannot gather row \(r) of \(src.encoding) rows \(src.rows)x\(src.dim) as \(encoding) rows of \(dim)")
            }
        }
        let n = picks.count
        switch encoding {
        case .f16:
            var out = [UInt8](); out.reserveCapacity(2 * n * dim)
            for (src, r) in picks { out.append(contentsOf: src.payload[2 * dim * r..<2 * dim * (r + 1)]) }
            return EncodedRows(unchecked: encoding, rows: n, dim: dim, nonzeros: 0, payload: out)
        case .int8(let g), .int4(let g):
            let codeBytes = encoding.kind == .int8 ? dim : dim / 2, paramBytes = 4 * (dim / g.groupSize)
            var codes = [UInt8](), params = [UInt8]()
            codes.reserveCapacity(n * codeBytes); params.reserveCapacity(n * paramBytes)
            for (src, r) in picks {
                codes.append(contentsOf: src.payload[codeBytes * r..<codeBytes * (r + 1)])
                let p = src.rows * codeBytes + paramBytes * r
                params.append(contentsOf: src.payload[p..<p + paramBytes])
            }
            return EncodedRows(unchecked: encoding, rows: n, dim: dim, nonzeros: 0, payload: codes + params)
        case .bitmap:
            let words = (dim + 63) / 64
            var masks = [UInt8](), offsets = [UInt8](), values = [UInt8]()
            var running = 0
            for (src, r) in picks {
                masks.append(contentsOf: src.payload[8 * words * r..<8 * words * (r + 1)])
                let start = Int(src.payload.loadLE(UInt32.self, at: 8 * words * src.rows + 4 * r))
                let end = r + 1 < src.rows ? Int(src.payload.loadLE(UInt32.self, at: 8 * words * src.rows + 4 * (r + 1))) : src.nonzeros
                let base = src.rows * (8 * words + 4)
                values.append(contentsOf: src.payload[base + 2 * start..<base + 2 * end])
                withUnsafeBytes(of: UInt32(running).littleEndian) { offsets.append(contentsOf: $0) }
                running += end - start
            }
            return EncodedRows(unchecked: .bitmap, rows: n, dim: dim, nonzeros: running, payload: masks + offsets + values)
        }
    }
}

extension PageEncoding {
    /// Whether each row's bytes stand alone (every encoding but channel-axis int8 / int4, whose
    /// groups span rows).
    public var rowsStandAlone: Bool { grouping?.axis != .channel }
}
