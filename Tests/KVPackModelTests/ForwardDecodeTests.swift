import KVPack
import KVPackPolicies
import Testing
@testable import KVPackModel

/// Greedy decoding through sessions: a `dense`-policy session (prompt prefilled through the
/// policy, as a compressing server does) decodes exactly what an uncompressed session does, and
/// both what re-running the whole sequence without a cache gives.
@Suite("Decoding through sessions")
struct ForwardDecodeTests {
    static let promptLength = 48
    static let steps = 12

    /// Greedy tokens and each step's logits: the prompt by `prefill`, then one token at a time.
    static func decode(_ model: LanguageModel, prompt: [Int], session: CacheSession, viaPolicyPrefill: Bool) throws -> ([Int], [[Float]]) {
        let hidden = viaPolicyPrefill ? try model.prefill(prompt, session: session) : try model.forward(prompt, startingAt: 0, session: session)
        var logits = try model.logits(hidden, rows: hidden.tokens - 1..<hidden.tokens)
        var tokens: [Int] = [], rows: [[Float]] = [Array(logits.values)]
        for step in 0..<steps {
            let next = logits.argmax(row: 0)
            tokens.append(next)
            let h = try model.forward([next], startingAt: prompt.count + step, session: session)
            logits = try model.logits(h, rows: 0..<1)
            rows.append(Array(logits.values))
        }
        return (tokens, rows)
    }

    @Test("a dense-policy session decodes the uncompressed session's tokens, bit for bit", arguments: ModelFixtures.Name.allCases)
    func densePolicy(_ name: ModelFixtures.Name) throws {
        let model = try ModelFixtures.model(name)
        let prompt = Array(try ModelFixtures.reference(name).tokenIDs[0..<Self.promptLength])
        let pool = try ModelFixtures.pool(for: model)
        let plain = try model.makeSession(pool: pool)
        let dense = try model.makeSession(pool: pool, policy: try PolicyPipeline(parsing: "dense"))
        defer { plain.close(); dense.close() }
        let (a, logitsA) = try Self.decode(model, prompt: prompt, session: plain, viaPolicyPrefill: false)
        let (b, logitsB) = try Self.decode(model, prompt: prompt, session: dense, viaPolicyPrefill: true)
        print("\(name): greedy continuation \(a)")
        #expect(a == b)
        #expect(logitsA == logitsB, "the same f16 pages must give the same logits")
        #expect(dense.byteCount == plain.byteCount, "both keep every token in f16")

        // Without a cache: the whole sequence re-run in one chunk for each step's prediction.
        var sequence = prompt
        for step in 0..<Self.steps {
            let fresh = try model.makeSession(pool: pool)
            defer { fresh.close() }
            let h = try model.forward(sequence, startingAt: 0, session: fresh)
            let next = try model.logits(h, rows: h.tokens - 1..<h.tokens).argmax(row: 0)
            #expect(next == a[step], "step \(step)")
            sequence.append(next)
        }
    }

    @Test("a compressing policy keeps fewer bytes and still decodes")
    func compressingPolicy() throws {
        let model = try ModelFixtures.model(.smollm2)
        let prompt = Array(try ModelFixtures.reference(.smollm2).tokenIDs[0..<256])
        let session = try model.makeSession(pool: try ModelFixtures.pool(for: model), policy: try PolicyPipeline(parsing: "snapkv(keep=0.25)"))
        defer { session.close() }
        let (tokens, logits) = try Self.decode(model, prompt: prompt, session: session, viaPolicyPrefill: true)
        #expect(tokens.count == Self.steps)
        #expect(logits.allSatisfy { $0.allSatisfy(\.isFinite) })
        #expect(session.ratio < 0.4, "ratio \(session.ratio)")
        #expect(try session.tokenCounts(layer: 0).allSatisfy { $0 < 256 * 4 / 10 })
    }

    @Test("a prompt prefilled in chunks gives the hidden states and the kept tokens of one piece")
    func chunkedPrefill() throws {
        let model = try ModelFixtures.model(.smollm2)
        let prompt = Array(try ModelFixtures.reference(.smollm2).tokenIDs[0..<200])
        let pool = try ModelFixtures.pool(for: model)
        let policy = try PolicyPipeline(parsing: "snapkv(keep=0.25)")
        let whole = try model.makeSession(pool: pool, policy: policy), chunked = try model.makeSession(pool: pool, policy: policy)
        defer { whole.close(); chunked.close() }
        // Chunks of 48: the 32 window queries span the last two chunks.
        let a = try model.prefill(prompt, session: whole), b = try model.prefill(prompt, session: chunked, chunk: 48)
        #expect(a.tokens == 200 && b.tokens == 200)
        // Chunks change the order of float sums (the matrix products' blocking, which queries
        // share a kernel call), and the keys and values are stored in f16, where such a last-bit
        // difference can round to the next f16 value: the states agree to about two f16 steps of
        // their largest magnitude after 30 layers (5e-4 on an AVX2 machine).
        let diff = zip(a.values, b.values).map { abs($0 - $1) }.max() ?? 0, largest = a.values.map(abs).max() ?? 1
        #expect(diff / largest < 2e-3, "hidden states differ by \(diff) (largest magnitude \(largest))")
        for layer in [0, 15, 29] {
            #expect(try whole.positions(layer: layer) == chunked.positions(layer: layer), "layer \(layer)")
        }
        #expect(throws: ModelError.self) { try model.prefill(prompt, session: try model.makeSession(pool: pool), chunk: 0) }
    }
}
