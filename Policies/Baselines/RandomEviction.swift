import KVPack

/// `random(keep=0.25, seed=0)`: keeps a uniformly random subset per head, seeded per (seed,
/// sequence, layer, head): the floor any scoring policy must beat.
public struct RandomEviction: KVPolicy {
    public var keep: Budget
    public var seed: Int

    public init(keep: Budget, seed: Int = 0) {
        self.keep = keep
        self.seed = seed
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        self.init(keep: try a.budget(), seed: try a.int("seed", default: 0, range: 0...Int(Int32.max)))
    }

    public var spec: PolicySpec.Stage { PolicySpec.stage("random", [("keep", keep.description), ("seed", "\(seed)")]) }

    public var budget: Budget? { keep }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        for s in plan.heads.indices { for l in plan.heads[s].indices { for h in plan.heads[s][l].indices {
            var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(s << 40 | l << 20 | h)
            let n = plan.heads[s][l][h].kept.count
            let scores: [Float] = (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(state >> 40)
            }
            plan.heads[s][l][h].restrict(to: topIndices(scores, count: allocation[s][l][h]))
        } } }
    }
}
