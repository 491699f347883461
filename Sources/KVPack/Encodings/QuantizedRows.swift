import CKVPackHalf

/// Asymmetric min/max quantization to 8 or 4 bits with an f16 scale and zero point per group.
///
/// Per group: `zero` is the group minimum rounded down to f16 and `scale` is
/// `(max − zero) / (2^bits − 1)` rounded up to f16, so every code lies in range without clamping
/// and each value decodes within half a step (`scale / 2`) of the original, before the decoded
/// value's own rounding to f16.
enum QuantizedRows {
    /// Encodes through the C encoder (the same bytes as `encodeReference`, property-tested).
    static func encode(_ values: [Float16], rows: Int, dim: Int, bits: Int, grouping g: QuantizationGrouping) -> EncodedRows {
        let codeBytes = bits == 8 ? rows * dim : rows * dim / 2
        var payload = [UInt8](repeating: 0, count: codeBytes + 4 * EncodedRows.groupCount(g, rows: rows, dim: dim))
        let status = values.withUnsafeBufferPointer { v in
            v.withMemoryRebound(to: UInt16.self) { bits16 in
                payload.withUnsafeMutableBufferPointer { out in
                    kvp_quant_rows_encode(bits16.baseAddress, rows, dim, Int32(bits), g.groupSize, g.axis == .channel ? 1 : 0, out.baseAddress)
                }
            }
        }
        guard status == 0 else { return encodeReference(values, rows: rows, dim: dim, bits: bits, grouping: g) }
        let encoding: PageEncoding = bits == 8 ? .int8(g) : .int4(g)
        return EncodedRows(unchecked: encoding, rows: rows, dim: dim, nonzeros: 0, payload: payload)
    }

    /// The reference encoder, in Swift.
    static func encodeReference(_ values: [Float16], rows: Int, dim: Int, bits: Int, grouping g: QuantizationGrouping) -> EncodedRows {
        let levels = Float((1 << bits) - 1)
        let codeBytes = bits == 8 ? rows * dim : rows * dim / 2
        let groups = EncodedRows.groupCount(g, rows: rows, dim: dim)
        var payload = [UInt8](repeating: 0, count: codeBytes + 4 * groups)
        let x = HalfConversion.floats(values) // vectorized; Float(Float16) per element is slow
        payload.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { x in
                /// Quantizes `count` elements from `start`, `step` apart (row-major indices), as group `group`.
                func quantize(_ group: Int, start: Int, count: Int, step: Int) {
                    var lo = Float.infinity, hi = -Float.infinity
                    for k in 0..<count {
                        let v = x[start + k * step]
                        lo = min(lo, v)
                        hi = max(hi, v)
                    }
                    let zero = roundDown(lo)
                    let scale = hi > Float(zero) ? roundUp((hi - Float(zero)) / levels) : Float16(0)
                    let sb = scale.bitPattern, zb = zero.bitPattern
                    out[codeBytes + 4 * group] = UInt8(sb & 0xFF)
                    out[codeBytes + 4 * group + 1] = UInt8(sb >> 8)
                    out[codeBytes + 4 * group + 2] = UInt8(zb & 0xFF)
                    out[codeBytes + 4 * group + 3] = UInt8(zb >> 8)
                    let z = Float(zero), sc = Float(scale)
                    for k in 0..<count {
                        let i = start + k * step
                        // (x − zero) / scale >= 0 (zero is the rounded-down minimum), so adding ½ and
                        // truncating rounds half away from zero, without a libm call. Non-finite
                        // input (never in a validated capture) gives code 0 or the top code.
                        let v = (x[i] - z) / sc + 0.5
                        let code = sc > 0 && v >= 0 ? (v < levels + 1 ? min(levels, Float(Int(v))) : levels) : 0
                        if bits == 8 {
                            out[i] = UInt8(code)
                        } else {
                            out[i / 2] |= UInt8(code) << (i % 2 == 0 ? 0 : 4)
                        }
                    }
                }
                if g.axis == .token {
                    let perRow = dim / g.groupSize
                    for group in 0..<groups {
                        quantize(group, start: (group / perRow) * dim + (group % perRow) * g.groupSize, count: g.groupSize, step: 1)
                    }
                } else {
                    for group in 0..<groups {
                        let tg = group / dim, c = group % dim
                        quantize(group, start: tg * g.groupSize * dim + c, count: min(rows, (tg + 1) * g.groupSize) - tg * g.groupSize, step: dim)
                    }
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
