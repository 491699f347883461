import KVPack

/// Decodes a capture's probe tokens through a compressed cache, the way a server would: the
/// prompt is compressed at prefill, then each probe token's key and value are appended (f16) to
/// every head of every layer, its query attends over the cache as it stands, and every stage's
/// decode step runs (PagedEviction evicts a block, ARKV re-tiers, Mustafar prunes the token
/// leaving its dense window).
public struct DecodeSimulation: Sendable {
    /// Attention output of probe `i` over the compressed cache, per layer: `[layer][probe]`,
    /// each `[queryHeads, 1, headDim]`.
    public var outputs: [[HeadTensor<Float>]]
    /// The same over the dense cache (prompt + probes up to `i`).
    public var reference: [[HeadTensor<Float>]]
    /// Tokens each stored head held when probe `i` attended: `[layer][probe][head]`.
    public var keptCounts: [[[Int]]]
    /// The cache after the last step.
    public var finalPlan: CompressionPlan
    /// Bytes of the cache after the last step (exact layout accounting).
    public var finalBytes: Int

    /// Runs sequence `sequence` of `capture` (which must have probe queries, keys and values).
    public static func run(_ pipeline: PolicyPipeline, capture: Capture, sequence s: Int = 0,
                           pageSize: Int = 16) throws(PolicyError) -> DecodeSimulation {
        var plan = try pipeline.plan(capture, pageSize: pageSize)
        let seq = capture.sequences[s], m = capture.model
        var outputs: [[HeadTensor<Float>]] = [], reference: [[HeadTensor<Float>]] = [], kept: [[[Int]]] = []
        var finalBytes = 0
        for (l, layer) in seq.layers.enumerated() {
            guard let pq = layer.probeQueries, let pk = layer.probeKeys, let pv = layer.probeValues else {
                throw .badValue(policy: "decode", argument: "capture", value: "layer \(l)",
                                expected: "probe queries, keys and values (capture with --probes)")
            }
            var keys = layer.keys, values = layer.values, positions = seq.positions.tokens
            var layerOut: [HeadTensor<Float>] = [], layerRef: [HeadTensor<Float>] = [], layerKept: [[Int]] = []
            for i in 0..<pq.tokens {
                keys = keys.appendingTokens(of: pk.slicingTokens(i..<i + 1))
                values = values.appendingTokens(of: pv.slicingTokens(i..<i + 1))
                positions.append(seq.positions.probes[i])
                for h in plan.heads[s][l].indices { plan.heads[s][l][h].append(keys.tokens - 1) }
                let q = pq.slicingTokens(i..<i + 1)
                let window = m.layerKinds[l].windowSize
                let heads = try plan.buildLayer(s, l, keys: keys, values: values, positions: positions)
                do throws(AttentionError) {
                    layerOut.append(try CompressedAttention.attend(queries: q.floats(), heads: heads,
                                                                   queryPositions: [positions.last!], window: window))
                    let mask = try AttentionMask(keyPositions: positions, queryPositions: [positions.last!], window: window)
                    layerRef.append(try DenseAttention.attend(queries: q.floats(), keys: keys, values: values, mask: mask).output)
                } catch {
                    throw .badValue(policy: "decode", argument: "probe", value: "\(i)", expected: "attention to work: \(error)")
                }
                layerKept.append(plan.heads[s][l].map(\.kept.count))
                let step = DecodeStep(sequence: s, layer: l, keys: keys, values: values, positions: positions, query: q, model: m)
                for stage in pipeline.stages { try stage.decodeStep(&plan, step: step) }
            }
            let last = try plan.buildLayer(s, l, keys: keys, values: values, positions: positions)
            finalBytes += last.reduce(0) { $0 + $1.byteCount }
            outputs.append(layerOut)
            reference.append(layerRef)
            kept.append(layerKept)
        }
        return DecodeSimulation(outputs: outputs, reference: reference, keptCounts: kept, finalPlan: plan, finalBytes: finalBytes)
    }
}
