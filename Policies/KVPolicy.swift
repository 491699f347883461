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
    /// The stage fitted to a capture of `model` whose sequences have `sequences` positions,
    /// before `apply`: an argument the capture cannot honour is an error when the spec gave it,
    /// a default is adapted with a line in `warnings`; the result's `spec` says what runs.
    func resolved(for model: ModelFacts, sequences: [SequencePositions], warnings: inout [String]) throws(PolicyError) -> any KVPolicy
}

extension KVPolicy {
    public var actsAtDecode: Bool { false }
    public var budget: Budget? { nil }
    public func expectedKept(available: Int, allocated: Int, sequence: SequenceCapture) -> ClosedRange<Int> {
        allocated...allocated
    }
    public func decodeStep(_ plan: inout CompressionPlan, step: DecodeStep) throws(PolicyError) {}
    public func resolved(for model: ModelFacts, sequences: [SequencePositions], warnings: inout [String]) throws(PolicyError) -> any KVPolicy {
        self
    }
}

/// A parsed pipeline of stages.
public struct PolicyPipeline: Sendable, CustomStringConvertible {
    public private(set) var stages: [any KVPolicy]
    /// What `resolved(for:sequences:)` adapted to the capture, one line each.
    public private(set) var warnings: [String] = []

    /// Builds the stages of `spec` through the registry.
    public init(_ spec: PolicySpec) throws(PolicyError) {
        var stages: [any KVPolicy] = []
        for stage in spec.stages { stages.append(try PolicyRegistry.make(stage)) }
        self.stages = stages
    }

    public init(parsing text: String) throws(PolicyError) { try self.init(PolicySpec(parsing: text)) }

    /// A pipeline of stages built in code, e.g. `PolicyPipeline(stages: [UniformQuant(keys: .int4(g), values: .int8(g))])`.
    public init(stages: [any KVPolicy]) { self.stages = stages }

    /// Stages `range` of this pipeline, as a pipeline of their own (to plan a shared first stage
    /// once and continue it with `plan(_:pageSize:continuing:)`).
    public func stages(_ range: Range<Int>) -> PolicyPipeline { PolicyPipeline(stages: Array(stages[range])) }

    /// The canonical spec, defaults filled in: what reports and `.kvp` files record.
    public var description: String { PolicySpec.canonical(stages.map(\.spec)) }

    /// Every stage fitted to a capture of `model` with `sequences` positions
    /// (`KVPolicy.resolved`): its `description` is what runs there, its `warnings` what was
    /// adapted. Planning resolves by itself; resolve first to record the spec that ran.
    public func resolved(for model: ModelFacts, sequences: [SequencePositions]) throws(PolicyError) -> PolicyPipeline {
        var out = self
        out.stages = []
        for stage in stages { out.stages.append(try stage.resolved(for: model, sequences: sequences, warnings: &out.warnings)) }
        return out
    }

    /// Runs every stage at prefill, checking each against its budget; after the stages that made
    /// `initial` when given (a plan of the same capture).
    public func plan(_ capture: Capture, pageSize: Int = 16, continuing initial: CompressionPlan? = nil) throws(PolicyError) -> CompressionPlan {
        var plan = initial ?? CompressionPlan(capture: capture, pageSize: pageSize)
        let resolved = try self.resolved(for: capture.model, sequences: capture.sequences.map(\.positions))
        for line in resolved.warnings { plan.warn(line) }
        for stage in resolved.stages {
            var before = plan
            try stage.apply(to: &plan, capture: capture)
            if plan.repeatFactor > before.repeatFactor { before.repeatPerQueryHead(capture.model) }
            try Self.check(stage, before: before, after: plan, capture: capture)
        }
        return plan
    }

    /// Runs every stage and packs the result into pages; the cache records the spec that ran
    /// (`resolved(for:sequences:)`).
    public func compress(_ capture: Capture, pageSize: Int = 16) throws(PolicyError) -> CompressedCache {
        let resolved = try self.resolved(for: capture.model, sequences: capture.sequences.map(\.positions))
        return try resolved.plan(capture, pageSize: pageSize).build(capture, policy: resolved.description)
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
