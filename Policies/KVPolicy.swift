import KVPack

/// One stage of a compression pipeline: it reads the capture and rewrites the plan (evicting
/// tokens, or choosing encodings). `A | B` runs B on what A kept.
///
/// A stage acts at prefill (`apply`), and may act again at each decode step (`decodeStep`):
/// a new token has arrived in a layer and the stage may re-score, evict or re-tier.
public protocol KVPolicy: Sendable {
    /// The stage as a spec (canonical arguments, defaults filled in).
    var spec: PolicySpec.Stage { get }
    /// The token budget the stage evicts to, if it evicts.
    var budget: Budget? { get }
    func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError)
    /// How many tokens a head may hold after `apply`, given `available` before it and the
    /// `allocated` count its budget gives (equal to `available` for stages without a budget).
    /// The pipeline checks every head against it, so a stage that silently did nothing (or
    /// evicted too much) is an error, not a quiet wrong result.
    func expectedKept(available: Int, allocated: Int, sequence: SequenceCapture) -> ClosedRange<Int>
    /// Whether `decodeStep` acts (a session skips stages that do not).
    var actsAtDecode: Bool { get }
    /// Called after a decode token was appended (in f16) to every stored head of layer
    /// `step.layer` of a live session, and attended to. The plan holds that layer: each stored
    /// head's live tokens (`kept` indexes them) and their encodings.
    func decodeStep(_ plan: inout CompressionPlan, step: DecodeStep) throws(PolicyError)
}

extension KVPolicy {
    public var actsAtDecode: Bool { false }
    public var budget: Budget? { nil }
    public func expectedKept(available: Int, allocated: Int, sequence: SequenceCapture) -> ClosedRange<Int> {
        allocated...allocated
    }
    public func decodeStep(_ plan: inout CompressionPlan, step: DecodeStep) throws(PolicyError) {}
}

/// A parsed pipeline of stages.
public struct PolicyPipeline: Sendable, CustomStringConvertible {
    public let stages: [any KVPolicy]

    /// Builds the stages of `spec` through the registry.
    public init(_ spec: PolicySpec) throws(PolicyError) {
        var stages: [any KVPolicy] = []
        for stage in spec.stages { stages.append(try PolicyRegistry.make(stage)) }
        self.stages = stages
    }

    public init(parsing text: String) throws(PolicyError) { try self.init(PolicySpec(parsing: text)) }

    /// A pipeline of stages built in code, e.g. `PolicyPipeline(stages: [UniformQuant(keys: .int4(g), values: .int8(g))])`.
    public init(stages: [any KVPolicy]) { self.stages = stages }

    /// The canonical spec, defaults filled in: what reports and `.kvp` files record.
    public var description: String { PolicySpec.canonical(stages.map(\.spec)) }

    /// Runs every stage at prefill, checking each against its budget.
    public func plan(_ capture: Capture, pageSize: Int = 16) throws(PolicyError) -> CompressionPlan {
        var plan = CompressionPlan(capture: capture, pageSize: pageSize)
        for stage in stages {
            var before = plan
            try stage.apply(to: &plan, capture: capture)
            if plan.repeatFactor > before.repeatFactor { before.repeatPerQueryHead(capture.model) }
            try Self.check(stage, before: before, after: plan, capture: capture)
        }
        return plan
    }

    /// Runs every stage and packs the result into pages.
    public func compress(_ capture: Capture, pageSize: Int = 16) throws(PolicyError) -> CompressedCache {
        try plan(capture, pageSize: pageSize).build(capture, policy: description)
    }

    static func check(_ stage: any KVPolicy, before: CompressionPlan, after: CompressionPlan, capture: Capture) throws(PolicyError) {
        let allocation = try stage.budget.map { b throws(PolicyError) in try before.allocate(b, headDim: capture.model.headDim) }
        for s in after.heads.indices {
            for l in after.heads[s].indices {
                for h in after.heads[s][l].indices {
                    let available = before.heads[s][l][h].kept.count
                    let allocated = allocation?[s][l][h] ?? available
                    let expected = stage.expectedKept(available: available, allocated: allocated, sequence: capture.sequences[s])
                    let kept = after.heads[s][l][h].kept.count
                    guard expected.contains(kept) else {
                        throw .budgetNotMet(stage: stage.spec.description, sequence: s, layer: l, head: h, kept: kept, expected: expected)
                    }
                }
            }
        }
    }
}

extension PolicySpec {
    static func canonical(_ stages: [Stage]) -> String { stages.map(\.description).joined(separator: " | ") }

    static func stage(_ name: String, _ args: [(String, String)]) -> Stage {
        Stage(name: name, arguments: args.map { .init(key: $0.0, value: $0.1, column: 0) })
    }
}
