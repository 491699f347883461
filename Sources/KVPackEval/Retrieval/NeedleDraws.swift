/// The random choices of one needle task, each a hash of (seed, context, depth, sample, draw):
/// the same arguments give the same task on any machine, and tasks differ in every cell.
struct NeedleDraws {
    let seed: UInt64, context: Int, depth: Double, sample: Int

    /// Draw `k` of this task: SplitMix64's finalizer folded over the task's coordinates.
    func draw(_ k: UInt64) -> UInt64 {
        var h = seed
        for part in [UInt64(bitPattern: Int64(context)), depth.bitPattern, UInt64(bitPattern: Int64(sample)), k] {
            h = Self.mix(h ^ (part &* 0x9E37_79B9_7F4A_7C15))
        }
        return h
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `adjective-noun`, as RULER's keys are made.
    var key: String {
        Self.adjectives[Int(draw(0) % UInt64(Self.adjectives.count))] + "-" + Self.nouns[Int(draw(1) % UInt64(Self.nouns.count))]
    }

    /// Seven digits, the first not 0.
    var value: String { String(1_000_000 + draw(2) % 9_000_000) }

    /// Where the filler starts: a sentence index in `0 ..< count`.
    func index(below count: Int) -> Int { Int(draw(3) % UInt64(max(1, count))) }

    static let adjectives = [
        "amber", "brave", "calm", "dusty", "eager", "faint", "gentle", "hollow", "icy", "jolly", "keen", "lively", "mellow", "nimble",
        "olive", "proud", "quiet", "rusty", "silver", "tidy", "upbeat", "vivid", "wooden", "young", "zesty", "bitter", "crisp", "dim",
        "fuzzy", "glossy", "humble", "lucky",
    ]
    static let nouns = [
        "lantern", "harbor", "meadow", "pebble", "violin", "falcon", "kettle", "orchard", "compass", "glacier", "pillow", "saddle",
        "thistle", "walnut", "canyon", "beacon", "ribbon", "marble", "anchor", "blossom", "cactus", "dolphin", "feather", "garnet",
        "hammock", "island", "jigsaw", "lagoon", "mitten", "nectar", "otter", "puzzle",
    ]
}
