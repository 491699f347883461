import Testing
@testable import KVPack

/// A small model of `layers` layers.
func liveModel(q: Int = 4, kv: Int = 2, d: Int = 16, layers: Int = 2, window: Int? = nil) -> ModelFacts {
    try! ModelFacts(name: "live-test", queryHeads: q, kvHeads: kv, headDim: d,
                    layerKinds: (0..<layers).map { $0 == 1 && window != nil ? .slidingWindow(size: window!) : .global })
}

func livePool(d: Int = 16, pageSize: Int = 4, budget: Int = 1 << 24, admission: PagePool.Admission = .reject,
              slotsPerChunk: Int = 8) -> PagePool {
    try! PagePool(.init(budgetBytes: budget, headDim: d, pageSize: pageSize, slotsPerChunk: slotsPerChunk, admission: admission))
}

/// Random keys, values and queries for a sequence of `tokens` tokens of `model`, every layer.
struct LiveSequence {
    let model: ModelFacts
    var keys: [HeadTensor<Float16>]
    var values: [HeadTensor<Float16>]
    var queries: [HeadTensor<Float>]

    init(_ model: ModelFacts, tokens: Int, seed: UInt64 = 7) {
        var rng = TestRandom(seed)
        self.model = model
        keys = (0..<model.layerCount).map { _ in rng.halves(model.kvHeads, tokens, model.headDim) }
        values = (0..<model.layerCount).map { _ in rng.halves(model.kvHeads, tokens, model.headDim) }
        queries = (0..<model.layerCount).map { _ in rng.floats(model.queryHeads, tokens, model.headDim, scale: 1.5) }
    }

    func prompt(_ range: Range<Int>, window: Int = 0) throws -> SessionPrompt {
        var layers: [SessionPrompt.Layer] = []
        for l in 0..<model.layerCount {
            var wq: HeadTensor<Float16>? = nil
            if window > 0 {
                let q = try queries[l].slicingTokens(range.upperBound - window..<range.upperBound)
                wq = try! HeadTensor(heads: model.queryHeads, tokens: window, headDim: model.headDim, storage: q.storage.map { Float16($0) })
            }
            layers.append(.init(keys: try keys[l].slicingTokens(range), values: try values[l].slicingTokens(range), windowQueries: wq))
        }
        return SessionPrompt(positions: Array(range), layers: layers)
    }

    /// Dense attention of query token `i` of `layer` over the tokens `kept(h)` of each KV head.
    func reference(layer l: Int, query i: Int, kept: (Int) -> [Int]) throws -> [Float] {
        let d = model.headDim, group = model.queryHeads / model.kvHeads
        var out: [Float] = []
        for h in 0..<model.kvHeads {
            let t = kept(h)
            let k = try HeadTensor(heads: 1, tokens: t.count, headDim: d, storage: try keys[l].gatheringRows(head: h, tokens: t))
            let v = try HeadTensor(heads: 1, tokens: t.count, headDim: d, storage: try values[l].gatheringRows(head: h, tokens: t))
            let token = try queries[l].slicingTokens(i..<i + 1).storage
            let q = try HeadTensor(heads: group, tokens: 1, headDim: d, storage: Array(token[h * group * d..<(h + 1) * group * d]))
            out += try DenseAttention.attend(queries: q, keys: k, values: v).output.storage
        }
        return out
    }

    func query(layer l: Int, _ i: Int) throws -> HeadTensor<Float> { try queries[l].slicingTokens(i..<i + 1) }
}

/// Keeps the tokens `keep(layer, head, tokens)` of the prompt in one encoding pair; at decode,
/// when a head holds more than `cap` tokens, evicts its oldest tokens after the first (a sink)
/// down to `cap`.
struct ScriptedPolicy: SessionPolicy {
    var keys: PageEncoding = .f16
    var values: PageEncoding = .f16
    var keep: @Sendable (Int, Int, Int) -> [Int] = { _, _, n in Array(0..<n) }
    var cap: Int? = nil
    var description: String { "scripted" }
    var hasDecodeStages: Bool { cap != nil }

    func prefill(_ prompt: SessionPrompt, model: ModelFacts, pageSize: Int) throws(SessionError) -> SessionPlan {
        SessionPlan(layers: prompt.layers.enumerated().map { l, layer in
            (0..<model.kvHeads).map { h in
                let k = keep(l, h, layer.keys.tokens)
                return HeadSelection(kept: k, keyEncodings: Array(repeating: keys, count: k.count),
                                     valueEncodings: Array(repeating: values, count: k.count))
            }
        })
    }

    func decodeStep(_ step: inout LiveDecodeStep) throws(SessionError) {
        guard let cap else { return }
        for h in step.selections.indices where step.selections[h].kept.count > cap {
            let drop = step.selections[h].kept.count - cap
            let keepIdx = [0] + Array(1 + drop..<step.selections[h].kept.count)
            step.selections[h] = HeadSelection(kept: keepIdx.map { step.selections[h].kept[$0] },
                                               keyEncodings: keepIdx.map { step.selections[h].keyEncodings[$0] },
                                               valueEncodings: keepIdx.map { step.selections[h].valueEncodings[$0] })
        }
    }
}

func maxRelativeError(_ a: [Float], _ b: [Float]) throws -> Float {
    let error = try AttentionMetrics.relativeL2(reference: a, approximation: b)
    return error.isFinite ? Float(error) : .infinity
}
