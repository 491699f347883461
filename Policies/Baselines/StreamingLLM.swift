import KVPack

/// `streaming(sinks=4, keep=0.25)`: StreamingLLM (Xiao et al. 2023, arXiv 2309.17453): the first
/// `sinks` tokens (attention sinks) plus the most recent ones, `keep` in all, per head.
/// Sliding-window layers are treated like the rest: their recent tokens are what they attend to.
/// A budget below `sinks` is an error, unless `sinks` is the default 4: then the budget's tokens
/// are all sinks, with a warning.
public struct StreamingLLM: KVPolicy {
    public static let defaultSinks = 4
    public var sinks: Int
    public var keep: Budget

    public init(sinks: Int = StreamingLLM.defaultSinks, keep: Budget) {
        self.sinks = sinks
        self.keep = keep
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        self.init(sinks: try a.int("sinks", default: StreamingLLM.defaultSinks, range: 0...1_000_000), keep: try a.budget())
    }

    public var spec: PolicySpec.Stage { PolicySpec.stage("streaming", [("sinks", "\(sinks)"), ("keep", keep.description)]) }

    public var budget: Budget? { keep }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        for s in plan.heads.indices { for l in plan.heads[s].indices { for h in plan.heads[s][l].indices {
            let n = plan.heads[s][l][h].kept.count
            let total = allocation[s][l][h]
            if sinks > total && total < n {
                if sinks != StreamingLLM.defaultSinks { throw .budgetBelowArgument(policy: "streaming", keep: keep.description, kept: total, argument: "sinks", value: sinks) }
                plan.warn("streaming: keep=\(keep) leaves some heads fewer tokens than the default sinks=\(sinks); they keep that many sinks and no recent tokens")
            }
            let sinkCount = min(sinks, total)
            let recent = total - sinkCount
            plan.heads[s][l][h].restrict(to: Array(0..<sinkCount) + Array(n - recent..<n))
        } } }
    }
}
