import KVPack

/// `quant(bits=4, group=32)` or `quant(keys=int4/c16, values=int4/g32)`: every kept token's keys
/// and values in one encoding (KIVI-style channel groups for keys when asked). Also uniform
/// bitmap pruning: `quant(keys=bitmap, values=bitmap, key_sparsity=0.7, value_sparsity=0.5)`.
public struct UniformQuant: KVPolicy {
    public var keys: PageEncoding
    public var values: PageEncoding
    public var keySparsity: Double
    public var valueSparsity: Double

    public init(keys: PageEncoding, values: PageEncoding, keySparsity: Double = 0.5, valueSparsity: Double = 0.5) {
        self.keys = keys
        self.values = values
        self.keySparsity = keySparsity
        self.valueSparsity = valueSparsity
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        let bits = try a.int("bits", default: 8, range: 4...8)
        guard bits == 4 || bits == 8 else {
            throw .badValue(policy: "quant", argument: "bits", value: "\(bits)", expected: "4 or 8")
        }
        let group = try a.int("group", default: 32, range: 1...65536)
        let g = QuantizationGrouping(groupSize: group)
        let base: PageEncoding = bits == 8 ? .int8(g) : .int4(g)
        self.init(keys: try a.encoding("keys", default: base), values: try a.encoding("values", default: base),
                  keySparsity: try a.double("key_sparsity", default: 0.5, range: 0..<1),
                  valueSparsity: try a.double("value_sparsity", default: 0.5, range: 0..<1))
        if a.given("keys") && a.given("values") {
            for name in ["bits", "group"] where a.given(name) {
                throw .argumentUnused(policy: "quant", argument: name, reason: "keys= and values= give both encodings (write the group in them, e.g. int4/g64); leave \(name) out")
            }
        }
        for (name, encoding) in [("key_sparsity", keys), ("value_sparsity", values)] where a.given(name) && encoding != .bitmap {
            throw .argumentUnused(policy: "quant", argument: name, reason: "it prunes bitmap pages, and the \(name.hasPrefix("key") ? "keys" : "values") are \(encoding); add \(name.hasPrefix("key") ? "keys" : "values")=bitmap or leave it out")
        }
    }

    public var spec: PolicySpec.Stage {
        var args = [("keys", keys.description), ("values", values.description)]
        if keys == .bitmap { args.append(("key_sparsity", "\(keySparsity)")) }
        if values == .bitmap { args.append(("value_sparsity", "\(valueSparsity)")) }
        return PolicySpec.stage("quant", args)
    }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        for encoding in [keys, values] {
            do { try EncodedRows.validate(encoding, dim: capture.model.headDim) } catch { throw .layout(error) }
        }
        plan.keySparsity = keySparsity
        plan.valueSparsity = valueSparsity
        for s in plan.heads.indices { for l in plan.heads[s].indices { for h in plan.heads[s][l].indices {
            let n = plan.heads[s][l][h].kept.count
            plan.heads[s][l][h].keyEncodings = Array(repeating: keys, count: n)
            plan.heads[s][l][h].valueEncodings = Array(repeating: values, count: n)
        } } }
    }
}
