import KVPack
import Testing
@testable import KVPackModel

/// A model file in memory: metadata and Float tensors with GGUF dimensions.
struct SyntheticModelSource: ModelSource {
    var strings: [String: String] = [:]
    var integers: [String: Int] = [:]
    var reals: [String: Double] = [:]
    var tensors: [String: (dims: [Int], values: [Float])] = [:]

    func string(_ key: String) -> String? { strings[key] }
    func integer(_ key: String) -> Int? { integers[key] }
    func real(_ key: String) -> Double? { reals[key] }
    func dimensions(of name: String) -> [Int]? { tensors[name]?.dims }
    func floats(_ name: String) throws(ModelError) -> [Float] {
        guard let t = tensors[name] else { throw .missingTensor(name) }
        return t.values
    }

    /// A tiny Llama: 2 layers, d 8, 2 query heads over 1 KV head of dim 4, MLP 12, vocabulary 10.
    static func tinyLlama() -> SyntheticModelSource {
        var s = SyntheticModelSource()
        s.strings["general.architecture"] = "llama"
        for (k, v) in [("block_count", 2), ("embedding_length", 8), ("feed_forward_length", 12), ("attention.head_count", 2),
                       ("attention.head_count_kv", 1)] {
            s.integers["llama." + k] = v
        }
        var seed: UInt64 = 7
        func random(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int(seed >> 40) % 2001 - 1000) / 4000
            }
        }
        s.tensors["token_embd.weight"] = ([8, 10], random(80))
        s.tensors["output_norm.weight"] = ([8], random(8).map { 1 + $0 })
        for l in 0..<2 {
            let p = "blk.\(l)."
            for (name, dims) in [("attn_q", [8, 8]), ("attn_k", [8, 4]), ("attn_v", [8, 4]), ("attn_output", [8, 8]),
                                 ("ffn_gate", [8, 12]), ("ffn_up", [8, 12]), ("ffn_down", [12, 8])] {
                s.tensors[p + name + ".weight"] = (dims, random(dims[0] * dims[1]))
            }
            s.tensors[p + "attn_norm.weight"] = ([8], random(8).map { 1 + $0 })
            s.tensors[p + "ffn_norm.weight"] = ([8], random(8).map { 1 + $0 })
        }
        return s
    }
}

@Suite("Loading a model")
struct ModelLoadingTests {
    @Test("hyperparameters come from the metadata, with llama.cpp's defaults")
    func hyperparameters() throws {
        let model = try LanguageModel(reading: SyntheticModelSource.tinyLlama())
        let hp = model.hyperparameters
        #expect(hp.architecture == .llama && hp.layerCount == 2 && hp.embeddingLength == 8 && hp.vocabularySize == 10)
        #expect(hp.queryHeads == 2 && hp.kvHeads == 1 && hp.headDim == 4 && hp.feedForwardLength == 12)
        #expect(hp.rmsEpsilon == 1e-6 && hp.ropeBase == 10_000 && hp.embeddingScale == 1 && hp.finalLogitSoftcap == nil)
        #expect(hp.layerKinds == [.global, .global])
        #expect(model.facts.kvHeads == 1 && model.facts.headDim == 4)
    }

    @Test("Gemma-3 layers: five sliding (512, RoPE base 10⁴) then one global")
    func gemmaLayerKinds() throws {
        var s = SyntheticModelSource.tinyLlama()
        s.strings["general.architecture"] = "gemma3"
        for (k, v) in s.integers { s.integers[k] = nil; s.integers[k.replacingOccurrences(of: "llama.", with: "gemma3.")] = v }
        s.integers["gemma3.block_count"] = 12
        s.reals["gemma3.rope.freq_base"] = 1e6
        let hp = try ModelHyperparameters(reading: s)
        #expect(hp.layerKinds.map(\.windowSize) == [512, 512, 512, 512, 512, nil, 512, 512, 512, 512, 512, nil])
        #expect(hp.ropeBase(layer: 0) == 10_000 && hp.ropeBase(layer: 5) == 1e6)
        #expect(hp.embeddingScale == Float(8.0.squareRoot()))
    }

    @Test("un-permuting Llama's Q/K rows inverts llama.cpp's converter permutation")
    func unpermute() {
        // convert_hf_to_gguf's LlamaModel.permute: w.reshape(heads, 2, hd/2, cols).swapaxes(1, 2):
        // row (h, i, a) of the stored matrix is row (h, a, i) of the Hugging Face one.
        let heads = 3, hd = 8, cols = 5, half = hd / 2
        let hf = (0..<heads * hd * cols).map(Float.init)
        var stored = [Float](repeating: 0, count: hf.count)
        for h in 0..<heads { for i in 0..<half { for a in 0..<2 { for c in 0..<cols {
            stored[((h * half + i) * 2 + a) * cols + c] = hf[((h * 2 + a) * half + i) * cols + c]
        } } } }
        let w = WeightMatrix(outputs: heads * hd, inputs: cols, values: stored).unpermutingRotaryRows(heads: heads)
        #expect(w.values == hf)
    }

    @Test("bad model files give typed errors naming what is wrong")
    func badFiles() {
        var s = SyntheticModelSource.tinyLlama()
        s.strings["general.architecture"] = "mamba"
        #expect(throws: ModelError.self) { try LanguageModel(reading: s) }
        do { _ = try LanguageModel(reading: s) } catch { #expect("\(error)".contains("'mamba' is not supported")) }

        s = .tinyLlama()
        s.integers["llama.block_count"] = nil
        do { _ = try LanguageModel(reading: s); Issue.record("loaded without block_count") } catch {
            #expect("\(error)".contains("llama.block_count"))
        }

        s = .tinyLlama()
        s.tensors["blk.1.ffn_down.weight"] = nil
        do { _ = try LanguageModel(reading: s); Issue.record("loaded without a tensor") } catch {
            #expect("\(error)".contains("'blk.1.ffn_down.weight' is missing"))
        }

        s = .tinyLlama()
        s.tensors["blk.0.attn_k.weight"]!.dims = [4, 8]
        do { _ = try LanguageModel(reading: s); Issue.record("loaded a wrong shape") } catch {
            guard case .wrongTensorShape(let name, let expected, let found) = error else { Issue.record("\(error)"); return }
            #expect(name == "blk.0.attn_k.weight" && expected == [4, 8] && found == [8, 4])
        }

        s = .tinyLlama()
        s.reals["llama.rope.scaling.factor"] = 8
        s.strings["llama.rope.scaling.type"] = "linear"
        do { _ = try LanguageModel(reading: s); Issue.record("loaded a scaled RoPE") } catch {
            #expect("\(error)".contains("RoPE scaling is not supported"))
        }

        s = .tinyLlama()
        s.integers["llama.attention.head_count_kv"] = 3
        do { _ = try LanguageModel(reading: s); Issue.record("loaded 2 heads over 3") } catch {
            #expect("\(error)".contains("head_count_kv = 3"))
        }
    }

    @Test("bad tokens and foreign sessions are refused, the session untouched")
    func badRuns() throws {
        let model = try LanguageModel(reading: SyntheticModelSource.tinyLlama())
        let pool = try PagePool(.init(budgetBytes: 1 << 20, headDim: 4))
        let session = try model.makeSession(pool: pool)
        #expect(throws: ModelError.self) { try model.forward([], startingAt: 0, session: session) }
        do { _ = try model.forward([1, 10], startingAt: 0, session: session) } catch {
            #expect("\(error)" == "token 1 has id 10, outside the vocabulary 0..<10")
        }
        #expect(try session.tokenCounts(layer: 0) == [0])
        _ = try model.forward([1, 2, 3], startingAt: 0, session: session)
        do { _ = try model.forward([4], startingAt: 2, session: session); Issue.record("position 2 accepted twice") } catch {
            guard case .session(.positionsNotIncreasing) = error else { Issue.record("\(error)"); return }
        }
        #expect(try session.tokenCounts(layer: 1) == [3])
        do { _ = try model.prefill([1, 2], session: session); Issue.record("prefill of a non-empty session accepted") } catch {
            guard case .session(.alreadyPrefilled(layer: 0)) = error else { Issue.record("\(error)"); return }
        }
        let other = try CacheSession(pool: pool, model: ModelFacts(name: "other", queryHeads: 2, kvHeads: 2, headDim: 4,
                                                                   layerKinds: [.global, .global]))
        do { _ = try model.forward([1], startingAt: 0, session: other); Issue.record("foreign session accepted") } catch {
            guard case .sessionOfAnotherModel = error else { Issue.record("\(error)"); return }
        }
    }
}
