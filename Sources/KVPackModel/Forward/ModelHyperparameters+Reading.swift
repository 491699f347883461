import KVPack

extension ModelHyperparameters {
    /// Reads the hyperparameters from GGUF metadata (`general.*` and `<architecture>.*` keys),
    /// with llama.cpp's defaults where a key is optional.
    /// - Throws: `ModelError.unsupportedArchitecture`, `.missingMetadata`, `.invalidHyperparameter`.
    init(reading source: some ModelSource) throws(ModelError) {
        guard let archName = source.string("general.architecture") else { throw .missingMetadata(key: "general.architecture") }
        guard let arch = ModelArchitecture(rawValue: archName) else { throw .unsupportedArchitecture(archName) }
        let a = arch.rawValue
        func required(_ key: String) throws(ModelError) -> Int {
            guard let v = source.integer("\(a).\(key)") else { throw .missingMetadata(key: "\(a).\(key)") }
            guard v > 0 else { throw .invalidHyperparameter(name: "\(a).\(key)", value: "\(v)", expected: "a positive count") }
            return v
        }
        let heads = try required("attention.head_count")
        let width = try required("embedding_length")
        let layers = try required("block_count")
        let ffn = try required("feed_forward_length")
        let kvHeads = source.integer("\(a).attention.head_count_kv") ?? heads
        let headDim = source.integer("\(a).attention.key_length") ?? source.integer("\(a).rope.dimension_count") ?? width / heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw .invalidHyperparameter(name: "\(a).attention.head_count_kv", value: "\(kvHeads)",
                                         expected: "a positive divisor of the \(heads) query heads")
        }
        guard headDim > 0, headDim % 2 == 0 else {
            throw .invalidHyperparameter(name: "\(a).attention.key_length", value: "\(headDim)", expected: "a positive even head dim (RoPE pairs)")
        }
        if let valueDim = source.integer("\(a).attention.value_length"), valueDim != headDim {
            throw .invalidHyperparameter(name: "\(a).attention.value_length", value: "\(valueDim)",
                                         expected: "the key length \(headDim) (KV-cache pages hold one head dim)")
        }
        if let rotated = source.integer("\(a).rope.dimension_count"), rotated != headDim {
            throw .invalidHyperparameter(name: "\(a).rope.dimension_count", value: "\(rotated)",
                                         expected: "the head dim \(headDim) (partial rotary embedding is not supported)")
        }
        // Position schemes this pass does not implement are refused rather than run wrong.
        if let factor = source.real("\(a).rope.scaling.factor"), factor != 1, source.string("\(a).rope.scaling.type") != "none" {
            throw .invalidHyperparameter(name: "\(a).rope.scaling.factor", value: "\(factor)",
                                         expected: "1 (RoPE scaling is not supported by this forward pass)")
        }
        if source.dimensions(of: "rope_freqs.weight") != nil {
            throw .invalidHyperparameter(name: "rope_freqs.weight", value: "present",
                                         expected: "absent (Llama-3.1-style RoPE frequency factors are not supported)")
        }
        guard let embedding = source.dimensions(of: "token_embd.weight") else { throw .missingTensor("token_embd.weight") }
        guard embedding.count == 2, embedding[0] == width, embedding[1] > 0 else {
            throw .wrongTensorShape(name: "token_embd.weight", expected: [embedding.last ?? 0, width], found: embedding.reversed())
        }
        let epsilon = source.real("\(a).attention.layer_norm_rms_epsilon") ?? 1e-6
        let base = source.real("\(a).rope.freq_base") ?? 10_000
        for (key, value) in [("attention.layer_norm_rms_epsilon", epsilon), ("rope.freq_base", base)] where !(value.isFinite && value > 0) {
            throw .invalidHyperparameter(name: "\(a).\(key)", value: "\(value)", expected: "a positive finite number")
        }
        var kinds = Array(repeating: AttentionKind.global, count: layers)
        var slidingBase: Double?
        if arch == .gemma3 {
            // Gemma-3: every sixth layer is global, the others slide over 512 tokens with RoPE base 10⁴.
            let window = source.integer("gemma3.attention.sliding_window") ?? 512
            let pattern = source.integer("gemma3.attention.sliding_window_pattern") ?? 6
            guard window > 0, pattern > 0 else {
                throw .invalidHyperparameter(name: "gemma3.attention.sliding_window(_pattern)", value: "\(window), \(pattern)",
                                             expected: "positive values")
            }
            kinds = (0..<layers).map { ($0 + 1) % pattern == 0 ? .global : .slidingWindow(size: window) }
            slidingBase = source.real("gemma3.rope.freq_base_swa") ?? 10_000
        }
        let softcap = source.real("\(a).final_logit_softcapping").flatMap { $0 > 0 ? Float($0) : nil }
        self.init(
            architecture: arch, name: source.string("general.name") ?? archName, layerCount: layers, embeddingLength: width,
            queryHeads: heads, kvHeads: kvHeads, headDim: headDim, feedForwardLength: ffn, vocabularySize: embedding[1],
            rmsEpsilon: Float(epsilon), ropeBase: base, ropeBaseSliding: slidingBase, layerKinds: kinds,
            attentionScale: 1 / Float(headDim).squareRoot(),
            embeddingScale: arch == .gemma3 ? Float(Double(width).squareRoot()) : 1, finalLogitSoftcap: softcap)
    }
}
