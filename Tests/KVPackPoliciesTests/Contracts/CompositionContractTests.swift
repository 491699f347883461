import KVPack
import Testing
@testable import KVPackPolicies

/// Every policy composes with the encoding stages: `X | quant(...)` and `X | mustafar(...)` keep
/// exactly the tokens X keeps and only change their encodings, at prefill and through decode.
@Suite("Policy contracts: composition with quant and mustafar")
struct CompositionContractTests {
    static let int4 = PageEncoding.int4(QuantizationGrouping(groupSize: 32))

    /// `name` alone and followed by `stage`, both compressed; fails when they keep other tokens.
    struct Composition {
        let capture: Capture
        let alone: PolicyPipeline, composed: PolicyPipeline
        let a: CompressedCache, c: CompressedCache

        init(_ name: String, then stage: String) throws {
            capture = try PolicyContracts.capture()
            alone = try PolicyPipeline(parsing: PolicyContracts.spec(name))
            composed = try PolicyPipeline(parsing: "\(alone) | \(stage)")
            a = try alone.compress(capture)
            c = try composed.compress(capture)
            #expect(PolicyContracts.kept(c) == PolicyContracts.kept(a), "\(composed) kept other tokens than \(alone)")
        }
    }

    @Test("X | quant(bits=4): X's tokens, every one int4, fewer bytes", arguments: PolicyRegistry.names)
    func withQuant(name: String) throws {
        let pair = try Composition(name, then: "quant(bits=4)")
        let (capture, alone, composed, a, c) = (pair.capture, pair.alone, pair.composed, pair.a, pair.c)
        #expect(PolicyContracts.encodings(c).joined().joined().allSatisfy { $0 == .init(Self.int4, Self.int4) })
        let aloneHasInt4 = PolicyContracts.encodings(a).joined().joined().contains { $0.key == Self.int4 || $0.value == Self.int4 }
        if !aloneHasInt4 { #expect(c.byteCount < a.byteCount, "\(composed): \(c.byteCount) bytes, \(alone): \(a.byteCount)") }
        // Decode appends f16 tokens after the quantized prompt. X's decode stages may re-encode
        // the prompt's tokens (Mustafar prunes those leaving its window), but none is f16 again:
        // its original is gone.
        let sim = try DecodeSimulation.run(composed, capture: capture)
        let plain = try DecodeSimulation.run(alone, capture: capture)
        #expect(sim.finalBytes < plain.finalBytes || aloneHasInt4, "\(composed) decodes to \(sim.finalBytes) bytes, \(alone) to \(plain.finalBytes)")
        for (l, layer) in sim.finalHeads.enumerated() {
            for (h, head) in layer.enumerated() {
                for (i, t) in head.kept.enumerated() where t < PolicyContracts.tokens {
                    #expect(head.keyEncodings[i] != .f16 && head.valueEncodings[i] != .f16,
                            "\(composed): layer \(l) head \(h) prompt token \(t) is f16 again after decode")
                }
                if !alone.hasDecodeStages {
                    let prompt = head.kept.indices.filter { head.kept[$0] < PolicyContracts.tokens }
                    #expect(prompt.allSatisfy { head.keyEncodings[$0] == Self.int4 && head.valueEncodings[$0] == Self.int4 },
                            "\(composed): layer \(l) head \(h) re-encoded prompt tokens without a decode stage")
                }
            }
        }
    }

    @Test("X | mustafar(recent=8): X's tokens, all but each head's last 8 in bitmap, the last 8 as X left them",
          arguments: PolicyRegistry.names)
    func withMustafar(name: String) throws {
        let pair = try Composition(name, then: "mustafar(recent=8)")
        let (capture, composed, a, c) = (pair.capture, pair.composed, pair.a, pair.c)
        for (l, (heads, before)) in zip(PolicyContracts.encodings(c), PolicyContracts.encodings(a)).enumerated() {
            for (h, (encodings, original)) in zip(heads, before).enumerated() {
                let pruned = max(0, encodings.count - 8)
                #expect(encodings[..<pruned].allSatisfy { $0 == .init(.bitmap, .bitmap) }, "\(composed): layer \(l) head \(h)")
                #expect(Array(encodings[pruned...]) == Array(original[pruned...]), "\(composed): layer \(l) head \(h)'s recent tokens")
            }
        }
        // At decode the token leaving the dense window is pruned too.
        let sim = try DecodeSimulation.run(composed, capture: capture)
        for (l, layer) in sim.finalHeads.enumerated() {
            for (h, head) in layer.enumerated() {
                let pruned = max(0, head.kept.count - 8)
                #expect(head.keyEncodings[..<pruned].allSatisfy { $0 == .bitmap } && head.valueEncodings[..<pruned].allSatisfy { $0 == .bitmap },
                        "\(composed): layer \(l) head \(h) after decode")
            }
        }
    }
}
