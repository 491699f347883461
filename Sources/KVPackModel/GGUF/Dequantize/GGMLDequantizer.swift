/// Converts `blocks` whole blocks of one GGML type at `source` into `blocks * blockSize` floats
/// at `destination`. Kernels read only the blocks' bytes and write only the floats; they
/// allocate nothing.
typealias GGMLBlockKernel = (_ source: UnsafeRawPointer, _ blocks: Int, _ destination: UnsafeMutablePointer<Float>) -> Void

/// The block kernels, one per dequantizable type, written after GGML's reference
/// `dequantize_row_*` functions (`ggml-quants.c`).
enum GGMLDequantizer {
    /// The kernel for `type`, or nil when this reader does not dequantize it.
    static func kernel(for type: GGMLType) -> GGMLBlockKernel? {
        switch type {
        case .f32: f32
        case .f16: f16
        case .bf16: bf16
        case .q4_0: q4_0
        case .q4_1: q4_1
        case .q5_0: q5_0
        case .q5_1: q5_1
        case .q8_0: q8_0
        case .q2_K: q2_K
        case .q3_K: q3_K
        case .q4_K: q4_K
        case .q5_K: q5_K
        case .q6_K: q6_K
        default: nil
        }
    }

    /// The IEEE half at `offset` as a Float (exact).
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always)
    static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }
}
