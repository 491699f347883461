/// Deterministic random halves for benchmarks: an LCG whose top bits, over `2^shift`, give values
/// in about ±2^(23 − shift) (±4 at the default 21).
struct BenchRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func halves(_ n: Int, shift: Int = 21) -> [Float16] {
        let divisor = Float(1 << shift)
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float16(Float(Int64(bitPattern: state) >> 40) / divisor)
        }
    }
}
