import KVPack
import KVPackEval
import KVPackPolicies
import Testing

@Suite("Sweep plans")
struct SweepPlanTests {
    @Test("budgets fill the first stage that takes keep; specs with keep or without a budgeted stage run once")
    func expansion() throws {
        let plan = try SweepPlan(captures: 2, templates: ["snapkv | mustafar", "streaming(keep=0.5)", "quant(bits=4)"], budgets: ["0.1", "512"])
        #expect(plan.runs.count == 2 * (2 + 1 + 1))
        #expect(plan.runs.map(\.index) == Array(0..<8))
        #expect(plan.runs[0].policy.hasPrefix("snapkv(keep=0.1,") && plan.runs[0].policy.contains("| mustafar("))
        #expect(plan.runs[1].policy.hasPrefix("snapkv(keep=512,"))
        #expect(plan.runs[2].keep == nil && plan.runs[2].policy == "streaming(sinks=4,keep=0.5)")
        #expect(plan.runs[3].policy == "quant(keys=int4/g32,values=int4/g32)")
        #expect(plan.runs[4].capture == 1 && plan.runs[4].policy == plan.runs[0].policy)
        // The budget goes to the second stage when the first takes none.
        let second = try SweepPlan(captures: 1, templates: ["quant(bits=8) | streaming"], budgets: ["0.25"])
        #expect(second.runs[0].policy == "quant(keys=int8/g32,values=int8/g32) | streaming(sinks=4,keep=0.25)")
    }

    @Test("bad budgets, policies and shards are typed errors", arguments: ["1.5", "0", "-0.2", "abc", "0MB"])
    func badBudget(text: String) {
        let r = Result { () throws(EvalError) in try SweepPlan(captures: 1, templates: ["snapkv"], budgets: [text]) }
        guard case .failure(.badBudget(text)) = r else { Issue.record("\(r)"); return }
    }

    @Test func badPolicyAndShard() {
        let r = Result { () throws(EvalError) in try SweepPlan(captures: 1, templates: ["snapkv(keep=0.1", "nope"], budgets: []) }
        guard case .failure(.policy(let template, .syntax)) = r else { Issue.record("\(r)"); return }
        #expect(template == "snapkv(keep=0.1")
        let unknown = Result { () throws(EvalError) in try SweepPlan(captures: 1, templates: ["nope"], budgets: ["0.1"]) }
        guard case .failure(.policy(_, .unknownPolicy("nope", _))) = unknown else { Issue.record("\(unknown)"); return }
        for text in ["3/3", "-1/2", "1", "a/b", "0/0"] {
            let s = Result { () throws(EvalError) in try Shard(parsing: text) }
            guard case .failure(.badShard) = s else { Issue.record("\(text): \(s)"); continue }
        }
        #expect((try? Shard(parsing: "2/4"))?.contains(6) == true)
    }
}
