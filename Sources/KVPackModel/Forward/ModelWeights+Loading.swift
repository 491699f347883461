extension ModelWeights {
    /// Dequantizes every weight `hp` needs from `source`, checking each shape, un-permuting
    /// Llama's Q/K rows and fusing Q/K/V and gate/up.
    /// - Throws: `ModelError.missingTensor`, `.wrongTensorShape`, or the source's error.
    init(reading source: some ModelSource, hyperparameters hp: ModelHyperparameters) throws(ModelError) {
        let d = hp.embeddingLength, hd = hp.headDim
        func matrix(_ name: String, outputs: Int, inputs: Int) throws(ModelError) -> WeightMatrix {
            guard let dims = source.dimensions(of: name) else { throw .missingTensor(name) }
            guard dims == [inputs, outputs] else { throw .wrongTensorShape(name: name, expected: [outputs, inputs], found: dims.reversed()) }
            return WeightMatrix(outputs: outputs, inputs: inputs, values: try source.floats(name))
        }
        func norm(_ name: String, width: Int) throws(ModelError) -> RMSNorm {
            guard let dims = source.dimensions(of: name) else { throw .missingTensor(name) }
            guard dims == [width] else { throw .wrongTensorShape(name: name, expected: [width], found: dims.reversed()) }
            return RMSNorm(weight: try source.floats(name), epsilon: hp.rmsEpsilon)
        }
        let gemma = hp.architecture == .gemma3
        var layers: [LayerWeights] = []
        for l in 0..<hp.layerCount {
            let p = "blk.\(l)."
            var q = try matrix(p + "attn_q.weight", outputs: hp.queryWidth, inputs: d)
            var k = try matrix(p + "attn_k.weight", outputs: hp.kvWidth, inputs: d)
            let v = try matrix(p + "attn_v.weight", outputs: hp.kvWidth, inputs: d)
            if hp.architecture == .llama {
                q = q.unpermutingRotaryRows(heads: hp.queryHeads)
                k = k.unpermutingRotaryRows(heads: hp.kvHeads)
            }
            let gate = try matrix(p + "ffn_gate.weight", outputs: hp.feedForwardLength, inputs: d)
            let up = try matrix(p + "ffn_up.weight", outputs: hp.feedForwardLength, inputs: d)
            layers.append(LayerWeights(
                attentionNorm: try norm(p + "attn_norm.weight", width: d),
                queryKeyValue: WeightMatrix(stacking: [q, k, v]),
                queryNorm: gemma ? try norm(p + "attn_q_norm.weight", width: hd) : nil,
                keyNorm: gemma ? try norm(p + "attn_k_norm.weight", width: hd) : nil,
                attentionOutput: try matrix(p + "attn_output.weight", outputs: d, inputs: hp.queryWidth),
                postAttentionNorm: gemma ? try norm(p + "post_attention_norm.weight", width: d) : nil,
                feedForwardNorm: try norm(p + "ffn_norm.weight", width: d),
                gateUp: WeightMatrix(stacking: [gate, up]),
                down: try matrix(p + "ffn_down.weight", outputs: d, inputs: hp.feedForwardLength),
                postFeedForwardNorm: gemma ? try norm(p + "post_ffw_norm.weight", width: d) : nil))
        }
        let embedding = try matrix("token_embd.weight", outputs: hp.vocabularySize, inputs: d)
        self.init(
            embedding: embedding, layers: layers, outputNorm: try norm("output_norm.weight", width: d),
            output: source.dimensions(of: "output.weight") == nil
                ? embedding : try matrix("output.weight", outputs: hp.vocabularySize, inputs: d))
    }
}

extension WeightMatrix {
    /// Undoes llama.cpp's converter permutation of Q/K rows (`LlamaModel.permute`), which
    /// interleaves each head's two RoPE halves for GGML's adjacent-pair RoPE: stored row
    /// `h·hd + 2i + a` becomes row `h·hd + a·hd/2 + i`, the rotate-half order the Hugging Face model
    /// (and KVPack's captures) use.
    func unpermutingRotaryRows(heads: Int) -> WeightMatrix {
        let hd = outputs / heads, half = hd / 2, n = inputs
        let out = [Float](unsafeUninitializedCapacity: values.count) { o, count in
            values.withUnsafeBufferPointer { src in
                for h in 0..<heads {
                    for i in 0..<half {
                        for a in 0..<2 {
                            (o.baseAddress! + (h * hd + a * half + i) * n).initialize(from: src.baseAddress! + (h * hd + 2 * i + a) * n, count: n)
                        }
                    }
                }
            }
            count = values.count
        }
        return WeightMatrix(outputs: outputs, inputs: inputs, values: out)
    }
}
