import KVPack
import KVPackPolicies

/// The runs of a sweep: every capture × policy template × budget, in a fixed order.
///
/// A template without a `keep` argument gets each budget in its first stage that takes one
/// (`snapkv | mustafar` with budget 0.25 runs `snapkv(keep=0.25) | mustafar`); a template with
/// `keep`, or with no stage that takes one (`quant(bits=4)`, `mustafar`), runs once.
public struct SweepPlan: Sendable, Hashable {
    public struct Run: Sendable, Hashable, Codable {
        /// Position in the sweep (stable across shards).
        public var index: Int
        public var capture: Int
        /// The template as given, and the canonical spec that runs.
        public var template: String
        public var policy: String
        /// The budget filled in, if any.
        public var keep: String?
    }

    /// The seed policies and baselines, run at `defaultBudgets` when no policy is given.
    public static let defaultTemplates = [
        "dense", "snapkv", "h2o", "streaming", "knorm", "random", "paged", "arkv", "taskkv",
        "quant(bits=8)", "quant(bits=4)", "mustafar(k=0.5,v=0.5)", "mustafar(k=0.7,v=0.7)", "snapkv | mustafar(k=0.5,v=0.5)",
    ]
    public static let defaultBudgets = ["0.1", "0.25", "0.5"]

    public var runs: [Run]

    public init(captures: Int, templates: [String], budgets: [String]) throws(EvalError) {
        for b in budgets where Budget(b) == nil { throw .badBudget(b) }
        var expanded: [(template: String, policy: String, keep: String?)] = []
        for template in templates {
            let spec: PolicySpec
            do { spec = try PolicySpec(parsing: template) } catch { throw .policy(template: template, error) }
            do {
                let hasKeep = spec.stages.contains { $0.arguments.contains { $0.key == "keep" } }
                let stage = hasKeep ? nil : Self.budgetStage(spec)
                guard let stage else {
                    expanded.append((template, try PolicyPipeline(spec).description, nil))
                    continue
                }
                guard !budgets.isEmpty else {
                    throw PolicyError.badValue(policy: spec.stages[stage].name, argument: "keep", value: "(missing)",
                                               expected: "a budget: give keep= in the spec or --budgets")
                }
                for b in budgets {
                    var s = spec
                    s.stages[stage].arguments.append(.init(key: "keep", value: b, column: 0))
                    expanded.append((template, try PolicyPipeline(s).description, b))
                }
            } catch let e as PolicyError {
                throw .policy(template: template, e)
            } catch {
                throw .policy(template: template, .syntax(spec: template, column: 0, expected: "\(error)"))
            }
        }
        var runs: [Run] = []
        for c in 0..<captures {
            for e in expanded {
                runs.append(Run(index: runs.count, capture: c, template: e.template, policy: e.policy, keep: e.keep))
            }
        }
        self.runs = runs
    }

    /// The first stage that takes `keep`, found by asking the registry.
    static func budgetStage(_ spec: PolicySpec) -> Int? {
        for (i, stage) in spec.stages.enumerated() {
            var s = stage
            s.arguments.removeAll { $0.key == "keep" }
            s.arguments.append(.init(key: "keep", value: "0.5", column: 0))
            if (try? PolicyPipeline(PolicySpec(stages: [s]))) != nil { return i }
        }
        return nil
    }
}

/// Part `index` of `count` of a sweep: the runs whose index is `index` modulo `count`.
public struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(parsing text: String) throws(EvalError) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else {
            throw .badShard(text)
        }
        index = i
        count = n
    }

    public func contains(_ run: Int) -> Bool { run % count == index }
    public var description: String { "\(index)/\(count)" }
}
