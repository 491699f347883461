import KVPack
import Testing
@testable import KVPackPolicies

/// The canonical spec is what reports and `.kvp` files record, so it must say everything that
/// made the cache: parsed back, it is the same spec and builds the same cache.
@Suite("Policy contracts: the canonical spec round-trips")
struct SpecRoundTripContractTests {
    @Test("every policy has examples that set each argument it reads", arguments: PolicyRegistry.names)
    func examplesCoverArguments(name: String) throws {
        let examples = try #require(PolicyContracts.examples[name], "add \(name)'s examples to PolicyContracts.examples")
        let written = Set(try examples.flatMap { try PolicySpec(parsing: $0).stages.flatMap { $0.arguments.map(\.key) } })
        let missing = PolicyContracts.arguments(of: name).subtracting(written)
        #expect(missing.isEmpty, "\(name) reads \(missing.sorted()) but no example sets it")
    }

    @Test("parse(print(x)) == x with non-default arguments, and builds the same cache", arguments: PolicyRegistry.names)
    func roundTrip(name: String) throws {
        let capture = try PolicyContracts.capture()
        for example in PolicyContracts.examples[name] ?? [] {
            let pipeline = try PolicyPipeline(parsing: example)
            let printed = pipeline.description
            let reparsed = try PolicyPipeline(parsing: printed)
            #expect(try PolicySpec(parsing: printed) == PolicySpec(stages: pipeline.stages.map(\.spec)), "\(example)")
            #expect(reparsed.description == printed, "\(example)")
            let cache = try pipeline.compress(capture)
            #expect(cache.policy == printed)
            #expect(try reparsed.compress(capture) == cache, "\(example) printed as \(printed) builds another cache")
        }
    }

    @Test("every argument written is in the canonical spec: dropping it changes what is printed", arguments: PolicyRegistry.names)
    func argumentsPrinted(name: String) throws {
        for example in PolicyContracts.examples[name] ?? [] {
            let stage = try PolicySpec(parsing: example).stages[0]
            let printed = try PolicyPipeline(parsing: example).description
            for argument in stage.arguments {
                var without = stage
                without.arguments.removeAll { $0.key == argument.key }
                // A required argument cannot be dropped; its value is checked by the round trip.
                guard let other = try? PolicyPipeline(PolicySpec(stages: [without])) else { continue }
                #expect(other.description != printed, "\(example): \(argument.key)=\(argument.value) is lost in \(printed)")
            }
        }
    }

    @Test("ARKV's taus are printed and parse back (they were dropped, labelling custom taus as the defaults)")
    func arkvTaus() throws {
        let pipeline = try PolicyPipeline(parsing: "arkv(keep=0.5,tau1=2.5,tau2=3.5,tau3=4.5)")
        #expect(pipeline.description == "arkv(keep=0.5,window=32,quant=token,gamma=263.8108280337562,tau1=2.5,tau2=3.5,tau3=4.5)")
        let arkv = try #require(try PolicyPipeline(parsing: pipeline.description).stages.first as? ARKV)
        #expect(arkv.tau == (2.5, 3.5, 4.5))
    }

    @Test("CompressedCache.uniform records a quant(...) spec that parses and builds the same cache (it recorded uniform(k=...,v=...))",
          arguments: [(PageEncoding.f16, PageEncoding.f16), (.int8(.init(groupSize: 32)), .int4(.init(groupSize: 16))),
                      (.int4(.init(groupSize: 8, axis: .channel)), .int8(.init(groupSize: 16))), (.bitmap, .int4(.init(groupSize: 32))),
                      (.f16, .bitmap)])
    func uniformLabel(keys: PageEncoding, values: PageEncoding) throws {
        let capture = try PolicyContracts.capture()
        let cache = try CompressedCache.uniform(capture, keys: keys, values: values, keySparsity: 0.7, valueSparsity: 0.3)
        let pipeline = try PolicyPipeline(parsing: cache.policy)
        #expect(pipeline.description == cache.policy)
        #expect(try pipeline.compress(capture) == cache, "\(cache.policy)")
        let built = PolicyPipeline(stages: [UniformQuant(keys: keys, values: values, keySparsity: 0.7, valueSparsity: 0.3)])
        #expect(built.description == cache.policy)
    }
}
