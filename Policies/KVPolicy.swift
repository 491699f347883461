import KVPack

/// One stage of a compression pipeline: it reads the capture and rewrites the plan (evicting
/// tokens, or choosing encodings). `A | B` runs B on what A kept.
public protocol KVPolicy: Sendable {
    /// The stage as a spec (canonical arguments, defaults filled in).
    var spec: PolicySpec.Stage { get }
    func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError)
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

    /// The canonical spec, defaults filled in: what reports and `.kvp` files record.
    public var description: String { PolicySpec.canonical(stages.map(\.spec)) }

    /// Runs every stage and packs the result into pages.
    public func compress(_ capture: Capture, pageSize: Int = 16) throws(PolicyError) -> CompressedCache {
        var plan = CompressionPlan(capture: capture)
        for stage in stages { try stage.apply(to: &plan, capture: capture) }
        return try plan.build(capture, policy: description, pageSize: pageSize)
    }
}

extension PolicySpec {
    static func canonical(_ stages: [Stage]) -> String { stages.map(\.description).joined(separator: " | ") }

    static func stage(_ name: String, _ args: [(String, String)]) -> Stage {
        Stage(name: name, arguments: args.map { .init(key: $0.0, value: $0.1, column: 0) })
    }
}

/// The one place a name becomes a policy.
public enum PolicyRegistry {
    typealias Factory = @Sendable (inout StageArguments) throws(PolicyError) -> any KVPolicy

    static let factories: [String: Factory] = [
        "dense": { (_: inout StageArguments) throws(PolicyError) in DenseBaseline() },
        "streaming": { (a: inout StageArguments) throws(PolicyError) in try StreamingLLM(&a) },
        "knorm": { (a: inout StageArguments) throws(PolicyError) in try KeyNorm(&a) },
        "snapkv": { (a: inout StageArguments) throws(PolicyError) in try SnapKV(&a) },
        "random": { (a: inout StageArguments) throws(PolicyError) in try RandomEviction(&a) },
        "quant": { (a: inout StageArguments) throws(PolicyError) in try UniformQuant(&a) },
    ]

    /// Policy names, sorted.
    public static var names: [String] { factories.keys.sorted() }

    static func make(_ stage: PolicySpec.Stage) throws(PolicyError) -> any KVPolicy {
        guard let factory = factories[stage.name] else { throw .unknownPolicy(stage.name, known: names) }
        var args = StageArguments(stage)
        let policy = try factory(&args)
        try args.finish()
        return policy
    }
}
