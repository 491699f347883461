import KVPack

/// `dense`: keeps every token in f16. The reference point of every comparison.
public struct DenseBaseline: KVPolicy {
    public init() {}
    public var spec: PolicySpec.Stage { PolicySpec.stage("dense", []) }
    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {}
}
