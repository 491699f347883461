import KVPack
import Testing
@testable import KVPackPolicies

/// The same spec on the same capture gives the same cache and the same decode, run after run
/// (layers are compressed in parallel; nothing may depend on their order).
@Suite("Policy contracts: determinism")
struct DeterminismContractTests {
    @Test("two pipelines parsed from one spec build equal caches and decode to equal outputs", arguments: PolicyRegistry.names)
    func deterministic(name: String) throws {
        let capture = try PolicyContracts.capture()
        for spec in [PolicyContracts.spec(name)] + (PolicyContracts.examples[name] ?? []) {
            let a = try PolicyPipeline(parsing: spec), b = try PolicyPipeline(parsing: spec)
            #expect(try a.compress(capture) == b.compress(capture), "\(spec)")
        }
        let spec = PolicyContracts.spec(name)
        let x = try DecodeSimulation.run(try PolicyPipeline(parsing: spec), capture: capture)
        let y = try DecodeSimulation.run(try PolicyPipeline(parsing: spec), capture: capture)
        #expect(x.outputs == y.outputs && x.finalSequence == y.finalSequence, "\(spec)")
    }
}
