import Testing
@testable import KVPackPolicies

@Suite("Policy spec grammar")
struct PolicySpecTests {
    @Test("pipelines parse and print canonically", arguments: [
        ("dense", "dense"),
        ("streaming(sinks=4,keep=0.25) | quant(bits=4)", "streaming(sinks=4,keep=0.25) | quant(keys=int4/g32,values=int4/g32)"),
        ("  knorm( keep = 512 )|quant(keys=int4/c16, values=int8)", "knorm(keep=512) | quant(keys=int4/c16,values=int8/g32)"),
        ("random(keep=0.5)", "random(keep=0.5,seed=0)"),
    ])
    func canonical(input: String, expected: String) throws {
        let pipeline = try PolicyPipeline(parsing: input)
        #expect(pipeline.description == expected)
        #expect(try PolicyPipeline(parsing: expected).description == expected)
    }

    @Test("syntax errors point at the bad column")
    func syntax() {
        #expect(throws: PolicyError.syntax(spec: "streaming(sinks=4,,", column: 18, expected: "an argument name")) {
            try PolicySpec(parsing: "streaming(sinks=4,,")
        }
        #expect(throws: PolicyError.syntax(spec: "dense quant", column: 6, expected: "'|' or the end of the spec")) {
            try PolicySpec(parsing: "dense quant")
        }
        #expect(throws: PolicyError.syntax(spec: "knorm(keep=0.5, keep=0.2)", column: 21, expected: "keep given once")) {
            try PolicySpec(parsing: "knorm(keep=0.5, keep=0.2)")
        }
        #expect(throws: PolicyError.self) { try PolicySpec(parsing: "") }
        #expect(throws: PolicyError.self) { try PolicySpec(parsing: "knorm(keep 0.5)") }
        let message = PolicyError.syntax(spec: "ab(", column: 3, expected: "x").description
        #expect(message.hasSuffix("ab(\n     ^"))
    }

    @Test("unknown policies and arguments, and bad values, are typed errors")
    func semantics() {
        #expect(throws: PolicyError.unknownPolicy("snapkvv", known: PolicyRegistry.names)) { try PolicyPipeline(parsing: "snapkvv") }
        #expect(throws: PolicyError.unknownArgument(policy: "knorm", argument: "budget", known: ["keep"], column: 15)) {
            try PolicyPipeline(parsing: "knorm(keep=0.5,budget=3)")
        }
        for bad in ["knorm(keep=1.5)", "knorm(keep=0)", "knorm(keep=0.0)", "knorm", "quant(bits=5)", "quant(keys=int3)",
                    "streaming(sinks=-1,keep=0.5)", "quant(keys=bitmap,key_sparsity=1)"] {
            #expect(throws: PolicyError.self, "\(bad)") { try PolicyPipeline(parsing: bad) }
        }
    }

    @Test("budgets: a share with a decimal point, a count without")
    func budgets() {
        #expect(Budget("0.25") == .fraction(0.25) && Budget("1.0") == .fraction(1) && Budget("512") == .tokens(512))
        #expect(Budget("1") == .tokens(1) && Budget("0") == nil && Budget("1.5") == nil && Budget("-3") == nil)
        #expect(Budget.fraction(0.25).count(of: 10) == 2 && Budget.fraction(0.01).count(of: 10) == 1)
        #expect(Budget.tokens(512).count(of: 100) == 100 && Budget.tokens(3).count(of: 0) == 0)
    }
}
