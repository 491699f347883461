import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

/// What every policy guarantees while a live session decodes (`DecodeSimulation` runs the
/// capture's probes through a `CacheSession`): the session starts from what the offline
/// compression keeps, a step adds at most the token it appends (a policy without decode stages
/// adds exactly that one and changes nothing else), the newest token is always held, and
/// attention stays finite (exact for `dense`).
@Suite("Policy contracts: decode steps")
struct DecodeContractTests {
    @Test("a session's prefill keeps what compress keeps; each step adds at most its token; the newest is held",
          arguments: PolicyRegistry.names)
    func invariants(name: String) throws {
        let pipeline = try PolicyPipeline(parsing: PolicyContracts.spec(name))
        let capture = try PolicyContracts.capture()
        let offline = PolicyContracts.kept(try pipeline.compress(capture))
        let sim = try DecodeSimulation.run(pipeline, capture: capture)
        let n = PolicyContracts.tokens, probes = PolicyContracts.probes
        #expect(sim.outputs.count == PolicyContracts.layers && sim.outputs.allSatisfy { $0.count == probes })
        for l in 0..<PolicyContracts.layers {
            for h in 0..<PolicyContracts.kvHeads {
                var before = offline[l][h].count
                for i in 0..<probes {
                    let held = sim.keptCounts[l][i][h]
                    if pipeline.hasDecodeStages {
                        #expect((1...before + 1).contains(held), "\(pipeline): layer \(l) head \(h) step \(i): \(before) -> \(held)")
                    } else {
                        #expect(held == before + 1, "\(pipeline) has no decode stage but layer \(l) head \(h) step \(i) went \(before) -> \(held)")
                    }
                    before = held
                }
                // The last step's decode stages ran after its token attended: they may have evicted since.
                let final = sim.finalHeads[l][h]
                #expect(pipeline.hasDecodeStages ? final.kept.count <= before : final.kept.count == before)
                #expect(final.kept == final.kept.sorted() && Set(final.kept).count == final.kept.count)
                #expect(final.kept.last == n + probes - 1, "\(pipeline): layer \(l) head \(h) dropped the newest token")
                #expect(final.kept.allSatisfy { (0..<n + probes).contains($0) })
                if !pipeline.hasDecodeStages {
                    #expect(final.kept == offline[l][h] + Array(n..<n + probes), "\(pipeline): decode changed the prompt's tokens")
                }
            }
            for i in 0..<probes {
                let error = try AttentionMetrics.relativeL2(reference: sim.reference[l][i].storage, approximation: sim.outputs[l][i].storage)
                #expect(error.isFinite, "\(pipeline): layer \(l) probe \(i)")
                if name == "dense" { #expect(error < 1e-4, "dense decode differs from dense attention: \(error)") }
            }
        }
    }
}
