/// GGML's 32-element block quantizations. Byte layouts (`d`, `m`: IEEE halves):
/// - Q4_0 (18 B): d, 16 B of nibbles; x = (q - 8) d. Element j is byte j's low nibble, j + 16 its high one.
/// - Q4_1 (20 B): d, m, 16 B of nibbles; x = q d + m.
/// - Q5_0 (22 B): d, 32 high bits (UInt32), 16 B of nibbles; x = (q - 16) d.
/// - Q5_1 (24 B): d, m, 32 high bits, 16 B of nibbles; x = q d + m.
/// - Q8_0 (34 B): d, 32 Int8; x = q d.
extension GGMLDequantizer {
    static func q4_0(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 18, out = dst + b * 32
            let d = half(p, 0)
            for j in 0..<16 {
                let q = byte(p, 2 + j)
                out[j] = Float(Int32(q & 0xF) - 8) * d
                out[j + 16] = Float(Int32(q >> 4) - 8) * d
            }
        }
    }

    static func q4_1(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 20, out = dst + b * 32
            let d = half(p, 0), m = half(p, 2)
            for j in 0..<16 {
                let q = byte(p, 4 + j)
                out[j] = Float(q & 0xF) * d + m
                out[j + 16] = Float(q >> 4) * d + m
            }
        }
    }

    static func q5_0(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 22, out = dst + b * 32
            let d = half(p, 0)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(p, 6 + j))
                let high0 = ((qh >> UInt32(j)) << 4) & 0x10, high1 = (qh >> UInt32(j + 12)) & 0x10
                out[j] = Float(Int32((q & 0xF) | high0) - 16) * d
                out[j + 16] = Float(Int32((q >> 4) | high1) - 16) * d
            }
        }
    }

    static func q5_1(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 24, out = dst + b * 32
            let d = half(p, 0), m = half(p, 2)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0..<16 {
                let q = UInt32(byte(p, 8 + j))
                let high0 = ((qh >> UInt32(j)) << 4) & 0x10, high1 = (qh >> UInt32(j + 12)) & 0x10
                out[j] = Float((q & 0xF) | high0) * d + m
                out[j + 16] = Float((q >> 4) | high1) * d + m
            }
        }
    }

    static func q8_0(_ src: UnsafeRawPointer, _ blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 34, out = dst + b * 32
            let d = half(p, 0)
            for j in 0..<32 { out[j] = Float(Int8(bitPattern: byte(p, 2 + j))) * d }
        }
    }
}
