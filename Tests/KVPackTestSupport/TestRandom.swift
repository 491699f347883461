import Foundation
import KVPack

/// The tests' one seeded generator: a 64-bit linear congruential generator (Knuth's MMIX
/// constants), so every test draws the same numbers on every run and machine.
///
/// `init(_:)` offsets the seed (the historical `TestRandom` seeding); `init(state:)` starts from a
/// raw state, for fixtures that seed it their own way. Draw with `next()` (uniform in [0, 1)),
/// `signed()` (uniform in [-1, 1)), `bits()` (the raw 64-bit state) or `normal()`.
public struct TestRandom: Sendable {
    public var state: UInt64

    public init(_ seed: UInt64) { state = seed &+ 0x1234_5678 }

    public init(state: UInt64) { self.state = state }

    /// Advances the generator and returns its new state.
    public mutating func bits() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }

    /// Uniform in [0, 1), 53 bits.
    public mutating func next() -> Double { Double(bits() >> 11) / Double(1 << 53) }

    /// Uniform in [-1, 1), 24 bits (the state's top bits read as a signed fraction).
    public mutating func signed() -> Float { Float(Int64(bitPattern: bits()) >> 40) / Float(1 << 23) }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float { Float((-2 * log(max(next(), 1e-12))).squareRoot() * cos(2 * .pi * next())) }

    /// `[h, t, d]` normal halves times `scale`.
    public mutating func halves(_ h: Int, _ t: Int, _ d: Int, scale: Float = 1) -> HeadTensor<Float16> {
        try! HeadTensor(heads: h, tokens: t, headDim: d, storage: (0..<h * t * d).map { _ in Float16(normal() * scale) })
    }

    /// `[h, t, d]` normal floats times `scale`.
    public mutating func floats(_ h: Int, _ t: Int, _ d: Int, scale: Float = 1) -> HeadTensor<Float> {
        try! HeadTensor(heads: h, tokens: t, headDim: d, storage: (0..<h * t * d).map { _ in normal() * scale })
    }

    /// `count` halves uniform in [-scale, scale).
    public mutating func signedHalves(_ count: Int, scale: Float = 1) -> [Float16] { (0..<count).map { _ in Float16(signed() * scale) } }

    /// `count` floats uniform in [-scale, scale).
    public mutating func signedFloats(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in signed() * scale } }
}

/// A seeded pseudo-random value in [-1, 1) for (a, b, c, seed): a stateless hash (murmur3's
/// finalizer), for fixtures that build tensors from closures over indices.
public func noise(_ a: Int, _ b: Int, _ c: Int = 0, seed: Int = 1) -> Float {
    var x = UInt64(truncatingIfNeeded: a &* 73_856_093 ^ b &* 19_349_663 ^ c &* 83_492_791 ^ seed &* 2_654_435_761)
    x ^= x >> 33; x &*= 0xff51afd7ed558ccd; x ^= x >> 33; x &*= 0xc4ceb9fe1a85ec53; x ^= x >> 33
    return Float(x >> 40) / Float(1 << 23) - 1
}
