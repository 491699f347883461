import KVPack

/// The one place a name becomes a policy: adding a policy is one file and one line here.
public enum PolicyRegistry {
    typealias Factory = @Sendable (inout StageArguments) throws(PolicyError) -> any KVPolicy

    static let factories: [String: Factory] = [
        "dense": { (_: inout StageArguments) throws(PolicyError) in DenseBaseline() },
        "streaming": { (a: inout StageArguments) throws(PolicyError) in try StreamingLLM(&a) },
        "knorm": { (a: inout StageArguments) throws(PolicyError) in try KeyNorm(&a) },
        "snapkv": { (a: inout StageArguments) throws(PolicyError) in try SnapKV(&a) },
        "random": { (a: inout StageArguments) throws(PolicyError) in try RandomEviction(&a) },
        "quant": { (a: inout StageArguments) throws(PolicyError) in try UniformQuant(&a) },
        "h2o": { (a: inout StageArguments) throws(PolicyError) in try HeavyHitters(&a) },
        "paged": { (a: inout StageArguments) throws(PolicyError) in try PagedEviction(&a) },
        "arkv": { (a: inout StageArguments) throws(PolicyError) in try ARKV(&a) },
        "mustafar": { (a: inout StageArguments) throws(PolicyError) in try Mustafar(&a) },
        "taskkv": { (a: inout StageArguments) throws(PolicyError) in try TaskKV(&a) },
    ]

    /// Policy names, sorted.
    public static var names: [String] { factories.keys.sorted() }

    /// The stage's policy; a bad or unknown argument is refused with its column in the spec.
    static func make(_ stage: PolicySpec.Stage) throws(PolicyError) -> any KVPolicy {
        var args = StageArguments(stage)
        return try make(stage, reading: &args)
    }

    /// `make`, leaving in `args` what the factory read (the contract tests ask which keys).
    static func make(_ stage: PolicySpec.Stage, reading args: inout StageArguments) throws(PolicyError) -> any KVPolicy {
        guard let factory = factories[stage.name] else { throw .unknownPolicy(stage.name, known: names) }
        do {
            let policy = try factory(&args)
            try args.finish()
            return policy
        } catch {
            throw error.located(in: stage)
        }
    }
}
