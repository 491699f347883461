/// GGML's 256-element "k-quant" super-blocks (`d`, `dmin`: IEEE halves). Layouts:
/// - Q2_K (84 B): 16 B scales (low nibble scale, high nibble min), 64 B of 2-bit quants, d, dmin.
/// - Q3_K (110 B): 32 B high-bit mask, 64 B of 2-bit quants, 12 B of packed 6-bit scales, d.
/// - Q4_K (144 B): d, dmin, 12 B of packed 6-bit scales and mins, 128 B of nibbles.
/// - Q5_K (176 B): d, dmin, 12 B of scales and mins, 32 B of high bits, 128 B of nibbles.
/// - Q6_K (210 B): 128 B low nibbles, 64 B high 2-bit pairs, 16 Int8 scales, d.
extension GGMLDequantizer {
    /// Scale and min of sub-block `j` (0..<8) from the 12 packed bytes at `q` (GGML's `get_scale_min_k4`).
    @inline(__always)
    static func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 {
            return (Float(byte(q, j) & 63), Float(byte(q, j + 4) & 63))
        }
        let scale = (byte(q, j + 4) & 0xF) | ((byte(q, j - 4) >> 6) << 4)
        let min = (byte(q, j + 4) >> 4) | ((byte(q, j) >> 6) << 4)
        return (Float(scale), Float(min))
    }

    static func q2_K(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 84
            var out = dst + b * 256
            let d = half(p, 80), dmin = half(p, 82)
            var scale = 0
            for n in stride(from: 0, to: 256, by: 128) {
                let q = p + 16 + n / 4
                for shift in stride(from: 0, to: 8, by: 2) {
                    for part in 0..<2 {
                        let sc = byte(p, scale)
                        scale += 1
                        let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                        for l in 0..<16 { out[l] = dl * Float((byte(q, l + 16 * part) >> UInt8(shift)) & 3) - ml }
                        out += 16
                    }
                }
            }
        }
    }

    /// Signed scale of sub-block `i` (0..<16) of a Q3_K block: 6 bits, the low 4 from bytes 0..<8
    /// of `packed` (low then high nibbles), the high 2 from bytes 8..<12, minus 32.
    @inline(__always)
    static func q3Scale(_ i: Int, _ packed: UnsafeRawPointer) -> Float {
        let low = i < 8 ? byte(packed, i) & 0xF : byte(packed, i - 8) >> 4
        let high = (byte(packed, 8 + i % 4) >> UInt8(2 * (i / 4))) & 3
        return Float(Int32(low | (high << 4)) - 32)
    }

    static func q3_K(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 110
            var out = dst + b * 256
            let d = half(p, 108)
            var index = 0
            var mask: UInt8 = 1
            for n in stride(from: 0, to: 256, by: 128) {
                let q = p + 32 + n / 4
                for shift in stride(from: 0, to: 8, by: 2) {
                    for part in 0..<2 {
                        let dl = d * q3Scale(index, p + 96)
                        index += 1
                        for l in 0..<16 {
                            let low = Int32((byte(q, l + 16 * part) >> UInt8(shift)) & 3)
                            let high: Int32 = byte(p, l + 16 * part) & mask != 0 ? 0 : 4
                            out[l] = dl * Float(low - high)
                        }
                        out += 16
                    }
                    mask <<= 1
                }
            }
        }
    }

    static func q4_K(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 144
            var out = dst + b * 256
            let d = half(p, 0), dmin = half(p, 2)
            for j in 0..<4 {
                let q = p + 16 + 32 * j
                let (s1, m1) = scaleMin(2 * j, p + 4), (s2, m2) = scaleMin(2 * j + 1, p + 4)
                let d1 = d * s1, min1 = dmin * m1, d2 = d * s2, min2 = dmin * m2
                for l in 0..<32 { out[l] = d1 * Float(byte(q, l) & 0xF) - min1 }
                for l in 0..<32 { out[32 + l] = d2 * Float(byte(q, l) >> 4) - min2 }
                out += 64
            }
        }
    }

    static func q5_K(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 176
            var out = dst + b * 256
            let d = half(p, 0), dmin = half(p, 2)
            let qh = p + 16
            for j in 0..<4 {
                let q = p + 48 + 32 * j
                let (s1, m1) = scaleMin(2 * j, p + 4), (s2, m2) = scaleMin(2 * j + 1, p + 4)
                let d1 = d * s1, min1 = dmin * m1, d2 = d * s2, min2 = dmin * m2
                let u1 = UInt8(1) << UInt8(2 * j), u2 = UInt8(2) << UInt8(2 * j)
                for l in 0..<32 {
                    let high: UInt8 = byte(qh, l) & u1 != 0 ? 16 : 0
                    out[l] = d1 * Float((byte(q, l) & 0xF) + high) - min1
                }
                for l in 0..<32 {
                    let high: UInt8 = byte(qh, l) & u2 != 0 ? 16 : 0
                    out[32 + l] = d2 * Float((byte(q, l) >> 4) + high) - min2
                }
                out += 64
            }
        }
    }

    static func q6_K(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 210
            let d = half(p, 208)
            for n in 0..<2 {
                let ql = p + 64 * n, qh = p + 128 + 32 * n, sc = p + 192 + 8 * n
                let out = dst + b * 256 + 128 * n
                for l in 0..<32 {
                    let s = l / 16
                    let h = byte(qh, l)
                    let q1 = Int32((byte(ql, l) & 0xF) | ((h & 3) << 4)) - 32
                    let q2 = Int32((byte(ql, l + 32) & 0xF) | (((h >> 2) & 3) << 4)) - 32
                    let q3 = Int32((byte(ql, l) >> 4) | (((h >> 4) & 3) << 4)) - 32
                    let q4 = Int32((byte(ql, l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32
                    out[l] = d * Float(Int8(bitPattern: byte(sc, s))) * Float(q1)
                    out[l + 32] = d * Float(Int8(bitPattern: byte(sc, s + 2))) * Float(q2)
                    out[l + 64] = d * Float(Int8(bitPattern: byte(sc, s + 4))) * Float(q3)
                    out[l + 96] = d * Float(Int8(bitPattern: byte(sc, s + 6))) * Float(q4)
                }
            }
        }
    }
}
