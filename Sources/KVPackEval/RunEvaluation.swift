import KVPack
import KVPackPolicies

/// Compresses a capture with one run's policy and measures the probes against the dense
/// reference. Compression never sees the probes (query-agnostic).
public enum RunEvaluation {
    public enum Detail: String, Sendable, Codable { case summary, layers, heads }

    /// Top-k recall uses the reference's k.
    public static func evaluate(_ run: SweepPlan.Run, capture: Capture, reference: DenseReference,
                                pageSize: Int, detail: Detail, backend: any ProbeAttentionBackend = CPUProbeAttention()) -> RunResult {
        let empty = Summary([Double]())
        var result = RunResult(run: run, bytes: 0, denseBytes: capture.denseKVBytes, memoryRatio: .nan, tokenShare: .nan,
                               relativeL2: empty, cosine: empty, massRecall: empty, topKRecall: empty)
        let cache: CompressedCache
        do {
            cache = try PolicyPipeline(parsing: run.policy).compress(capture, pageSize: pageSize)
        } catch {
            result.error = error.description
            return result
        }
        let prepared: any PreparedProbeAttention
        do {
            prepared = try backend.prepare(cache)
        } catch {
            result.error = "the \(backend.name) backend refused the cache: \(error)"
            return result
        }
        let m = capture.model, d = m.headDim
        let stored = cache.model.kvHeads, perStored = m.queryHeads / stored
        var rel: [Double] = [], cos: [Double] = [], mass: [Double] = [], topk: [Double] = []
        var layerRows: [[(rel: Double, mass: Double, head: Int)]] = Array(repeating: [], count: m.layerCount)
        var keptTokens = 0, promptTokens = 0
        var layerBytes = [Int](repeating: 0, count: m.layerCount)
        for (s, seq) in capture.sequences.enumerated() {
            let n = seq.positions.tokens.count, probes = seq.positions.probes.count
            for l in 0..<m.layerCount {
                let heads = cache.sequences[s].layers[l]
                layerBytes[l] += heads.reduce(0) { $0 + $1.byteCount }
                promptTokens += n * m.kvHeads
                keptTokens += heads.reduce(0) { $0 + $1.tokenCount } * m.kvHeads / stored
                let ref = reference.layers[s][l]
                let out: HeadTensor<Float>
                do {
                    out = try prepared.attend(sequence: s, layer: l, queries: seq.layers[l].probeQueries!.floats(),
                                              positions: seq.positions.probes, window: m.layerKinds[l].windowSize)
                } catch {
                    result.error = "attention over the compressed cache failed in layer \(l): \(error)"
                    return result
                }
                // Kept-token masks per stored head, over the prompt's token indices.
                let kept: [[Bool]] = heads.map { head in
                    var mask = [Bool](repeating: false, count: n)
                    for pos in head.positions { if let t = reference.tokenIndex[s][pos] { mask[t] = true } }
                    return mask
                }
                for qh in 0..<m.queryHeads {
                    let keptHere = kept[qh / perStored]
                    for p in 0..<probes {
                        let row = (qh * probes + p) * d
                        let r = AttentionMetrics.relativeL2(reference: ref.output.storage[row..<row + d], approximation: out.storage[row..<row + d])
                        let c = AttentionMetrics.cosineSimilarity(ref.output.storage[row..<row + d], out.storage[row..<row + d])
                        let pr = (qh * probes + p) * n
                        var mr = 0.0
                        ref.probabilities.withUnsafeBufferPointer { probs in
                            keptHere.withUnsafeBufferPointer { mask in
                                for t in 0..<n where mask[t] { mr += Double(probs[pr + t]) }
                            }
                        }
                        let top = ref.top[qh * probes + p]
                        rel.append(r); cos.append(c); mass.append(mr)
                        topk.append(top.isEmpty ? 1 : Double(top.filter { keptHere[$0] }.count) / Double(top.count))
                        layerRows[l].append((r, mr, qh))
                    }
                }
            }
        }
        result.bytes = cache.byteCount
        result.memoryRatio = Double(cache.byteCount) / Double(max(1, capture.denseKVBytes))
        result.tokenShare = Double(keptTokens) / Double(max(1, promptTokens))
        result.relativeL2 = Summary(rel)
        result.cosine = Summary(cos)
        result.massRecall = Summary(mass)
        result.topKRecall = Summary(topk)
        if detail != .summary {
            let denseLayer = capture.denseKVBytes / m.layerCount
            result.layers = (0..<m.layerCount).map { l in
                let rows = layerRows[l]
                var heads: [RunResult.HeadResult]?
                if detail == .heads {
                    heads = (0..<m.queryHeads).map { qh in
                        let mine = rows.filter { $0.head == qh }
                        return RunResult.HeadResult(queryHead: qh, relativeL2: mine.reduce(0) { $0 + $1.rel } / Double(max(1, mine.count)),
                                                    massRecall: mine.reduce(0) { $0 + $1.mass } / Double(max(1, mine.count)))
                    }
                }
                return RunResult.LayerResult(layer: l, sourceLayer: m.sourceLayers[l], kind: m.layerKinds[l].description,
                                             memoryRatio: Double(layerBytes[l]) / Double(max(1, denseLayer)),
                                             relativeL2: Summary(rows.map(\.rel)), massRecall: Summary(rows.map(\.mass)), heads: heads)
            }
        }
        return result
    }

    /// Decode mode: the prompt is compressed, then the probe tokens are decoded one by one
    /// through the compressed cache (appended, attended, then every stage's decode step: evictions,
    /// re-tiering, pruning), against dense attention over the prompt and the probes so far.
    /// Memory is the cache after the last probe over the dense f16 bytes of prompt + probes;
    /// mass and top-k recall are not defined here (NaN).
    public static func evaluateDecode(_ run: SweepPlan.Run, capture: Capture, pageSize: Int, detail: Detail) -> RunResult {
        let empty = Summary([Double]())
        let m = capture.model, d = m.headDim
        let denseBytes = capture.sequences.reduce(0) { $0 + 2 * 2 * ($1.positions.tokens.count + $1.positions.probes.count) * m.kvHeads * d * m.layerCount }
        var result = RunResult(run: run, bytes: 0, denseBytes: denseBytes, memoryRatio: .nan, tokenShare: .nan,
                               relativeL2: empty, cosine: empty, massRecall: empty, topKRecall: empty)
        var rel: [Double] = [], cos: [Double] = [], bytes = 0, kept = 0, total = 0
        var layerRows: [[Double]] = Array(repeating: [], count: m.layerCount)
        do {
            let pipeline = try PolicyPipeline(parsing: run.policy)
            for s in capture.sequences.indices {
                let sim = try DecodeSimulation.run(pipeline, capture: capture, sequence: s, pageSize: pageSize)
                bytes += sim.finalBytes
                let seq = capture.sequences[s]
                total += (seq.positions.tokens.count + seq.positions.probes.count) * m.kvHeads * m.layerCount
                let stored = sim.finalHeads.first?.count ?? m.kvHeads
                kept += sim.finalHeads.reduce(0) { $0 + $1.reduce(0) { $0 + $1.kept.count } } * m.kvHeads / stored
                for l in 0..<m.layerCount {
                    for (out, ref) in zip(sim.outputs[l], sim.reference[l]) {
                        for qh in 0..<m.queryHeads {
                            let r = AttentionMetrics.relativeL2(reference: ref.storage[qh * d..<(qh + 1) * d], approximation: out.storage[qh * d..<(qh + 1) * d])
                            rel.append(r)
                            cos.append(AttentionMetrics.cosineSimilarity(ref.storage[qh * d..<(qh + 1) * d], out.storage[qh * d..<(qh + 1) * d]))
                            layerRows[l].append(r)
                        }
                    }
                }
            }
        } catch {
            result.error = error.description
            return result
        }
        result.bytes = bytes
        result.memoryRatio = Double(bytes) / Double(max(1, denseBytes))
        result.tokenShare = Double(kept) / Double(max(1, total))
        result.relativeL2 = Summary(rel)
        result.cosine = Summary(cos)
        if detail != .summary {
            result.layers = (0..<m.layerCount).map { l in
                RunResult.LayerResult(layer: l, sourceLayer: m.sourceLayers[l], kind: m.layerKinds[l].description, memoryRatio: .nan,
                                      relativeL2: Summary(layerRows[l]), massRecall: empty, heads: nil)
            }
        }
        return result
    }
}
