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
                    let norms: [Float] = head.kept.map { t in
                        let o = layer.keys.rowOffset(head: plan.sourceHead(h), token: t)
                        var sum: Float = 0
                        for c in 0..<layer.keys.headDim {
                            let x = Float(layer.keys.storage[o + c])
                            sum += x * x
                        }
                        return -sum // smallest norm first
                    }
                    plan.heads[s][l][h].restrict(to: topIndices(norms, count: allocation[s][l][h]))
                }
            }
        }
    }
}
