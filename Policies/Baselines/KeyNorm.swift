import KVPack

/// `knorm(keep=0.25)`: keeps the tokens whose keys have the smallest L2 norm (Devoto et al. 2024,
/// arXiv 2406.11430; kvpress's KnormPress), per head. Equal norms keep the lower position.
public struct KeyNorm: KVPolicy {
    public var keep: Budget

    public init(keep: Budget) { self.keep = keep }
    init(_ a: inout StageArguments) throws(PolicyError) { self.init(keep: try a.budget()) }

    public var spec: PolicySpec.Stage { PolicySpec.stage("knorm", [("keep", keep.description)]) }

    public var budget: Budget? { keep }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        for (s, seq) in capture.sequences.enumerated() {
            for (l, layer) in seq.layers.enumerated() {
                for h in plan.heads[s][l].indices {
                    let head = plan.heads[s][l][h]
                    // Smallest norm first.
                    let norms = try! layer.keys.rowNorms( // kept indices are the capture's tokens
                        head: plan.sourceHead(h), tokens: head.kept).map { -$0 }
                    plan.heads[s][l][h].restrict(to: topIndices(norms, count: allocation[s][l][h]))
                }
            }
        }
    }
}
