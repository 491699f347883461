/// Asymmetric min/max quantization to 8 or 4 bits with an f16 scale and zero point per group.
///
/// Per group: `zero` is the group minimum rounded down to f16 and `scale` is
/// `(max − zero) / (2^bits − 1)` rounded up to f16, so every code lies in range without clamping
/// and each value decodes within half a step (`scale / 2`) of the original, before the decoded
/// value's own rounding to f16.
enum QuantizedRows {
    static func encode(_ values: [Float16], rows: Int, dim: Int, bits: Int, grouping g: QuantizationGrouping) -> EncodedRows {
        let levels = Float((1 << bits) - 1)
        let codeBytes = bits == 8 ? rows * dim : rows * dim / 2
        let groups = EncodedRows.groupCount(g, rows: rows, dim: dim)
        var payload = [UInt8](repeating: 0, count: codeBytes + 4 * groups)
        // Group membership: (row, channel) -> group index, and the elements of each group.
        func members(_ group: Int) -> [(Int, Int)] {
            if g.axis == .token {
                let perRow = dim / g.groupSize
                let r = group / perRow, c0 = (group % perRow) * g.groupSize
                return (c0..<c0 + g.groupSize).map { (r, $0) }
            }
            let tg = group / dim, c = group % dim
            return (tg * g.groupSize..<min(rows, (tg + 1) * g.groupSize)).map { ($0, c) }
        }
        for group in 0..<groups {
            let elems = members(group)
            var lo = Float.infinity, hi = -Float.infinity
            for (r, c) in elems {
                let x = Float(values[r * dim + c])
                lo = min(lo, x)
                hi = max(hi, x)
            }
            let zero = roundDown(lo)
            let scale = hi > Float(zero) ? roundUp((hi - Float(zero)) / levels) : Float16(0)
            payload.storeLE(scale.bitPattern, at: codeBytes + 4 * group)
            payload.storeLE(zero.bitPattern, at: codeBytes + 4 * group + 2)
            for (r, c) in elems {
                let x = Float(values[r * dim + c])
                let code = scale > 0 ? min(levels, max(0, ((x - Float(zero)) / Float(scale)).rounded())) : 0
                let index = r * dim + c
                if bits == 8 {
                    payload[index] = UInt8(code)
                } else {
                    payload[index / 2] |= UInt8(code) << (index % 2 == 0 ? 0 : 4)
                }
            }
        }
        let encoding: PageEncoding = bits == 8 ? .int8(g) : .int4(g)
        return EncodedRows(unchecked: encoding, rows: rows, dim: dim, nonzeros: 0, payload: payload)
    }

    static func decode(_ e: EncodedRows, into out: UnsafeMutableBufferPointer<Float16>) {
        guard let g = e.encoding.grouping else { preconditionFailure("not a quantized encoding") }
        let bits = e.encoding.kind == .int8 ? 8 : 4
        let rows = e.rows, dim = e.dim
        let codeBytes = bits == 8 ? rows * dim : rows * dim / 2
        e.payload.withUnsafeBytes { raw in
            func param(_ group: Int) -> (Float, Float) {
                let s = Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: codeBytes + 4 * group, as: UInt16.self)))
                let z = Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: codeBytes + 4 * group + 2, as: UInt16.self)))
                return (Float(s), Float(z))
            }
            for r in 0..<rows {
                for c in 0..<dim {
                    let index = r * dim + c
                    let code = bits == 8 ? raw[index] : (raw[index / 2] >> (index % 2 == 0 ? 0 : 4)) & 0xF
                    let group = g.axis == .token ? r * (dim / g.groupSize) + c / g.groupSize : (r / g.groupSize) * dim + c
                    let (s, z) = param(group)
                    out[index] = Float16(Float(code) * s + z)
                }
            }
        }
    }

    /// The largest f16 not above `x`.
    static func roundDown(_ x: Float) -> Float16 {
        var h = Float16(x)
        if Float(h) > x { h = h.nextDown }
        return h
    }

    /// The smallest f16 not below `x`.
    static func roundUp(_ x: Float) -> Float16 {
        var h = Float16(x)
        if Float(h) < x { h = h.nextUp }
        return h
    }
}
