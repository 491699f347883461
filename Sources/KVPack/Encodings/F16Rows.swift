/// Dense half rows: the payload is the values themselves.
enum F16Rows {
    static func encode(_ values: [Float16], rows: Int, dim: Int) -> EncodedRows {
        let payload = values.withUnsafeBytes { [UInt8]($0) }
        return EncodedRows(unchecked: .f16, rows: rows, dim: dim, nonzeros: 0, payload: payload)
    }

    static func decode(_ e: EncodedRows, into out: UnsafeMutableBufferPointer<Float16>) {
        e.payload.withUnsafeBytes { raw in
            for i in 0..<e.rows * e.dim {
                out[i] = Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        }
    }
}
