import CKVPackHalf

/// Per-token magnitude pruning into Mustafar's bitmap format: each row keeps its largest-|x|
/// elements; a 64-bit mask per 64 elements marks them, and they are stored packed, in order.
enum BitmapRows {
    /// Elements each row keeps at `sparsity`: `dim − floor(sparsity · dim)`, at least 1.
    static func kept(dim: Int, sparsity: Double) -> Int {
        max(1, dim - Int((sparsity * Double(dim)).rounded(.down)))
    }

    /// Encodes through the C encoder (the same bytes as `encodeReference`, property-tested).
    static func encode(_ values: [Float16], rows: Int, dim: Int, sparsity: Double) -> EncodedRows {
        let keep = kept(dim: dim, sparsity: sparsity)
        var payload = [UInt8](repeating: 0, count: EncodedRows.byteCount(.bitmap, rows: rows, dim: dim, nonzeros: rows * keep))
        values.withUnsafeBufferPointer { v in
            v.withMemoryRebound(to: UInt16.self) { bits in
                payload.withUnsafeMutableBufferPointer { out in
                    kvp_bitmap_encode(bits.baseAddress, rows, dim, keep, out.baseAddress)
                }
            }
        }
        return EncodedRows(unchecked: .bitmap, rows: rows, dim: dim, nonzeros: rows * keep, payload: payload)
    }

    /// The reference encoder, in Swift: sort each row by magnitude (equal magnitudes, lower
    /// index first) and keep the first `keep`.
    static func encodeReference(_ values: [Float16], rows: Int, dim: Int, sparsity: Double) -> EncodedRows {
        let words = (dim + 63) / 64
        let keep = kept(dim: dim, sparsity: sparsity)
        var masks = [UInt64](repeating: 0, count: rows * words)
        var packed: [Float16] = []
        var offsets: [UInt32] = []
        var order = Array(0..<dim)
        for r in 0..<rows {
            let row = r * dim
            order.sort { a, b in
                let ma = abs(values[row + a]), mb = abs(values[row + b])
                return ma != mb ? ma > mb : a < b
            }
            for c in order.prefix(keep) { masks[r * words + c / 64] |= 1 << UInt64(c % 64) }
            offsets.append(UInt32(packed.count))
            for w in 0..<words {
                var m = masks[r * words + w]
                while m != 0 {
                    packed.append(values[row + 64 * w + m.trailingZeroBitCount])
                    m &= m - 1
                }
            }
        }
        var payload = [UInt8](repeating: 0, count: EncodedRows.byteCount(.bitmap, rows: rows, dim: dim, nonzeros: packed.count))
        for (i, m) in masks.enumerated() { payload.storeLE(m, at: 8 * i) }
        for (r, o) in offsets.enumerated() { payload.storeLE(o, at: 8 * rows * words + 4 * r) }
        let valuesStart = rows * (8 * words + 4)
        for (i, v) in packed.enumerated() { payload.storeLE(v.bitPattern, at: valuesStart + 2 * i) }
        return EncodedRows(unchecked: .bitmap, rows: rows, dim: dim, nonzeros: packed.count, payload: payload)
    }

    static func decode(_ e: EncodedRows, into out: UnsafeMutableBufferPointer<Float16>) {
        let words = (e.dim + 63) / 64
        let valuesStart = e.rows * (8 * words + 4)
        var next = 0
        for r in 0..<e.rows {
            for c in 0..<e.dim { out[r * e.dim + c] = 0 }
            for w in 0..<words {
                var m = e.payload.loadLE(UInt64.self, at: 8 * (r * words + w))
                while m != 0 {
                    let b = m.trailingZeroBitCount
                    out[r * e.dim + 64 * w + b] = Float16(bitPattern: e.payload.loadLE(UInt16.self, at: valuesStart + 2 * next))
                    next += 1
                    m &= m - 1
                }
            }
        }
    }
}
