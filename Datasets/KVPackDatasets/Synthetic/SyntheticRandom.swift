/// SplitMix64: a small, fast, seedable generator; each (seed, layer, head, stream) gets its own,
/// so layers and heads generate independently and in parallel yet reproducibly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64, _ streams: Int...) {
        var s = seed ^ 0x9E37_79B9_7F4A_7C15
        for k in streams { s = SplitMix64.mix(s &+ UInt64(bitPattern: Int64(k)) &* 0xBF58_476D_1CE4_E5B9) }
        state = s
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// Uniform in (0, 1].
    mutating func unit() -> Float { Float(next() >> 40 + 1) * 0x1p-24 }

    /// Standard normal (Box-Muller).
    mutating func gaussian() -> Float {
        let u = unit(), v = unit()
        return (-2 * logf(u)).squareRoot() * cosf(2 * .pi * v)
    }

    /// A unit vector of `dim` floats supported on `dims`.
    mutating func unitVector(dim: Int, on dims: Range<Int>) -> [Float] {
        var v = [Float](repeating: 0, count: dim)
        for i in dims { v[i] = gaussian() }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / max(norm, 1e-6) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
