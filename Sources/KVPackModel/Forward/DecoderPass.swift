import KVPack

/// The decoder's work on a set of token rows, one layer at a time, between the attention calls:
/// `attentionInputs` (norm, fused QKV product, QK-norm, RoPE) gives a layer's queries, keys and
/// values as token rows; the caller attends (one session, or a batch of them) and hands the
/// output rows to `finishLayer` (output product, residual, MLP). Rows may belong to different
/// sequences, each at its own position: the products run once over all of them.
struct DecoderPass {
    let hyperparameters: ModelHyperparameters
    let weights: ModelWeights
    let rows: Int
    /// `[rows, d]`: the residual stream.
    private(set) var h: [Float]
    private var x: [Float]
    /// `[rows, queryWidth + 2 kvWidth]`: the current layer's queries, keys and values, post-RoPE.
    private(set) var qkv: [Float]
    private var attention: [Float]
    private var gateUp: [Float]
    private var gated: [Float]
    private let rotary: [Double: RotaryTable]
    private let activation: GatedActivation
    var profile = ForwardProfile()

    /// - Parameters:
    ///   - tokens: token ids (checked by the caller), one per row.
    ///   - positions: each row's position.
    init(model: LanguageModel, tokens: [Int], positions: [Int]) {
        let hp = model.hyperparameters
        hyperparameters = hp
        weights = model.weights
        rows = tokens.count
        let n = rows, d = hp.embeddingLength
        var tables: [Double: RotaryTable] = [:]
        for l in 0..<hp.layerCount where tables[hp.ropeBase(layer: l)] == nil {
            tables[hp.ropeBase(layer: l)] = RotaryTable(headDim: hp.headDim, base: hp.ropeBase(layer: l), positions: positions)
        }
        rotary = tables
        activation = hp.architecture == .gemma3 ? .geluTanh : .silu
        h = Self.embed(tokens, weights: model.weights, width: d, scale: hp.embeddingScale)
        x = [Float](repeating: 0, count: n * d)
        qkv = [Float](repeating: 0, count: n * (hp.queryWidth + 2 * hp.kvWidth))
        attention = [Float](repeating: 0, count: n * hp.queryWidth)
        gateUp = [Float](repeating: 0, count: n * 2 * hp.feedForwardLength)
        gated = [Float](repeating: 0, count: n * hp.feedForwardLength)
    }

    var qkvWidth: Int { hyperparameters.queryWidth + 2 * hyperparameters.kvWidth }

    /// Layer `l`'s attention block up to the attention: `qkv` holds every row's queries, keys and
    /// values after the norm, the fused product, QK-norm (Gemma-3) and RoPE.
    mutating func attentionInputs(layer l: Int) {
        let hp = hyperparameters, w = weights.layers[l], n = rows, qw = hp.queryWidth, stride = qkvWidth
        Self.normalize(h, with: w.attentionNorm, rows: n, into: &x)
        Self.project(x, through: w.queryKeyValue, rows: n, into: &qkv, profile: &profile)
        let table = rotary[hp.ropeBase(layer: l)]!
        qkv.withUnsafeMutableBufferPointer { qb in
            let base = qb.baseAddress!
            if let qn = w.queryNorm, let kn = w.keyNorm {
                for t in 0..<n {
                    let row = base + t * stride
                    qn.apply(row, rows: hp.queryHeads, into: row)
                    kn.apply(row + qw, rows: hp.kvHeads, into: row + qw)
                }
            }
            table.apply(base, tokens: n, heads: hp.queryHeads, tokenStride: stride)
            table.apply(base + qw, tokens: n, heads: hp.kvHeads, tokenStride: stride)
        }
    }

    /// Queries `[queryHeads, count, headDim]` (f32), keys and values `[kvHeads, count, headDim]`
    /// (f16) of rows `rows` of the current layer.
    func headTensors(rows r: Range<Int>) -> (queries: HeadTensor<Float>, keys: HeadTensor<Float16>, values: HeadTensor<Float16>) {
        let hp = hyperparameters, hd = hp.headDim, qw = hp.queryWidth, kw = hp.kvWidth, stride = qkvWidth
        let base = r.lowerBound * stride
        return (HeadTensor(gathering: qkv, tokens: r.count, stride: stride, offset: base, heads: hp.queryHeads, headDim: hd),
                HeadTensor(gathering: qkv, tokens: r.count, stride: stride, offset: base + qw, heads: hp.kvHeads, headDim: hd).halves(),
                HeadTensor(gathering: qkv, tokens: r.count, stride: stride, offset: base + qw + kw, heads: hp.kvHeads, headDim: hd).halves())
    }

    /// Places the attention output `[queryHeads, count, headDim]` of rows starting at `firstRow`.
    mutating func setAttentionOutput(_ output: HeadTensor<Float>, firstRow: Int) {
        output.writeTokenRows(into: &attention, firstRow: firstRow)
    }

    /// Zeroes the attention output of rows `r` (rows whose sequence failed; their results are dropped).
    mutating func clearAttentionOutput(rows r: Range<Int>) {
        let qw = hyperparameters.queryWidth
        for i in r.lowerBound * qw..<r.upperBound * qw { attention[i] = 0 }
    }

    /// The rest of layer `l` from the attention output set for every row: output product
    /// (post-attention norm), residual, MLP (post-MLP norm), residual.
    mutating func finishLayer(_ l: Int) {
        let w = weights.layers[l], n = rows, ffn = hyperparameters.feedForwardLength
        Self.project(attention, through: w.attentionOutput, rows: n, into: &x, then: w.postAttentionNorm, profile: &profile)
        Self.add(x, to: &h)
        Self.normalize(h, with: w.feedForwardNorm, rows: n, into: &x)
        Self.project(x, through: w.gateUp, rows: n, into: &gateUp, profile: &profile)
        let activation = activation
        gateUp.withUnsafeBufferPointer { gb in gated.withUnsafeMutableBufferPointer { ob in
            activation.apply(gateUp: gb.baseAddress!, rows: n, width: ffn, into: ob.baseAddress!)
        } }
        Self.project(gated, through: w.down, rows: n, into: &x, then: w.postFeedForwardNorm, profile: &profile)
        Self.add(x, to: &h)
    }

    /// The final norm over the residual stream: the hidden states of every row.
    mutating func finish() -> [Float] {
        let n = rows, norm = weights.outputNorm
        h.withUnsafeMutableBufferPointer { hb in norm.apply(hb.baseAddress!, rows: n, into: hb.baseAddress!) }
        return h
    }

    /// `output = norm(input)`, `rows` rows.
    private static func normalize(_ input: [Float], with norm: RMSNorm, rows: Int, into output: inout [Float]) {
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in norm.apply(i.baseAddress!, rows: rows, into: o.baseAddress!) }
        }
    }

    /// `output = input · mᵀ` for `rows` rows (timed into `profile`), then `norm` in place when given.
    private static func project(_ input: [Float], through m: WeightMatrix, rows: Int, into output: inout [Float],
                                then norm: RMSNorm? = nil, profile: inout ForwardProfile) {
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                profile.timeProduct(m, rows: rows) { m.apply(i.baseAddress!, rows: rows, into: o.baseAddress!) }
                norm?.apply(o.baseAddress!, rows: rows, into: o.baseAddress!)
            }
        }
    }

    /// `[tokens, d]` embeddings of `tokens`, times the architecture's embedding scale.
    private static func embed(_ tokens: [Int], weights: ModelWeights, width d: Int, scale: Float) -> [Float] {
        var h = [Float](repeating: 0, count: tokens.count * d)
        weights.embedding.values.withUnsafeBufferPointer { e in
            h.withUnsafeMutableBufferPointer { hb in
                for (t, id) in tokens.enumerated() {
                    let src = e.baseAddress! + id * d, dst = hb.baseAddress! + t * d
                    if scale == 1 {
                        dst.update(from: src, count: d)
                    } else {
                        for i in 0..<d { dst[i] = src[i] * scale }
                    }
                }
            }
        }
        return h
    }

    /// `h += x`, elementwise.
    private static func add(_ x: [Float], to h: inout [Float]) {
        x.withUnsafeBufferPointer { xb in
            h.withUnsafeMutableBufferPointer { hb in
                for i in 0..<hb.count { hb[i] += xb[i] }
            }
        }
    }
}
