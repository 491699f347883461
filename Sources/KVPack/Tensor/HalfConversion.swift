import CKVPackHalf

/// Bulk conversions between `Float16` and `Float`, on F16C hardware when the CPU has it.
public enum HalfConversion {
    /// Converts every element to `Float`.
    public static func floats(_ halves: [Float16]) -> [Float] {
        [Float](unsafeUninitializedCapacity: halves.count) { out, initialized in
            halves.withUnsafeBufferPointer { src in
                src.withMemoryRebound(to: UInt16.self) { bits in
                    if let base = bits.baseAddress, let dst = out.baseAddress {
                        kvp_half_to_float(base, dst, bits.count)
                    }
                }
            }
            initialized = halves.count
        }
    }

    /// Converts every element to `Float16` (round to nearest even; out-of-range values become
    /// infinities, which `HeadTensor.firstNonFinite()` finds).
    public static func halves(_ floats: [Float]) -> [Float16] {
        [Float16](unsafeUninitializedCapacity: floats.count) { out, initialized in
            out.withMemoryRebound(to: UInt16.self) { dst in
                floats.withUnsafeBufferPointer { src in
                    if let base = src.baseAddress, let d = dst.baseAddress {
                        kvp_float_to_half(base, d, src.count)
                    }
                }
            }
            initialized = floats.count
        }
    }

    /// Whether SIMD kernels (F16C/AVX2/FMA or AVX-512) are in use on this CPU.
    public static var isAccelerated: Bool { kvp_half_level() > 0 }

    /// The kernel level in use: "avx512", "avx2" (F16C/AVX2/FMA) or "portable".
    public static var kernelLevel: String { ["portable", "avx2", "avx512"][Int(kvp_half_level())] }
}

extension HeadTensor where Scalar == Float16 {
    /// This tensor converted to `Float`.
    public func floats() -> HeadTensor<Float> {
        try! HeadTensor<Float>(heads: heads, tokens: tokens, headDim: headDim,
                               storage: HalfConversion.floats(storage))
    }

    /// `[head, token, dim]` of the first NaN or infinity, or nil when every element is finite.
    /// - Complexity: O(n), integer tests on the raw bits.
    public func firstNonFinite() -> (head: Int, token: Int, dim: Int)? {
        firstAllOnesExponent(UInt16.self, exponent: 0x7C00)
    }
}

extension HeadTensor where Scalar == Float {
    /// `[head, token, dim]` of the first NaN or infinity, or nil when every element is finite.
    /// - Complexity: O(n), integer tests on the raw bits.
    public func firstNonFinite() -> (head: Int, token: Int, dim: Int)? {
        firstAllOnesExponent(UInt32.self, exponent: 0x7F80_0000)
    }

    /// This tensor rounded to `Float16`.
    public func halves() -> HeadTensor<Float16> {
        try! HeadTensor<Float16>(heads: heads, tokens: tokens, headDim: headDim,
                                 storage: HalfConversion.halves(storage))
    }
}

extension HeadTensor {
    /// `[head, token, dim]` of the first element whose `exponent` bits are all set (NaN or
    /// infinity), reading the storage as `Bits` (the scalar's bit pattern).
    func firstAllOnesExponent<Bits: FixedWidthInteger & UnsignedInteger>(_: Bits.Type, exponent: Bits) -> (head: Int, token: Int, dim: Int)? {
        // Adding the exponent's lowest bit carries into the sign bit only when every exponent bit
        // is set: blocks of 512 are reduced that way without an early exit (the compiler
        // vectorizes it); only a block that has a non-finite value is searched element by element.
        let low = exponent & (~exponent &+ 1), sign = Bits(1) << (Bits.bitWidth - 1)
        let index: Int? = storage.withUnsafeBufferPointer { buffer in buffer.withMemoryRebound(to: Bits.self) { bits in
            var start = 0
            while start < bits.count {
                let end = min(bits.count, start + 512)
                var found: Bits = 0
                for i in start..<end { found |= ((bits[i] & exponent) &+ low) & sign }
                if found != 0 {
                    for i in start..<end where bits[i] & exponent == exponent { return i }
                }
                start = end
            }
            return nil
        } }
        guard let i = index else { return nil }
        return (i / (tokens * headDim), (i / headDim) % tokens, i % headDim)
    }
}
