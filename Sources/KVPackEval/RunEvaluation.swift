import KVPack
import KVPackPolicies

/// Compresses a capture with one run's policy and measures the probes against the dense
/// reference. Compression never sees the probes (query-agnostic).
public enum RunEvaluation {
    public enum Detail: String, Sendable, Codable { case summary, layers, heads }

    /// Top-k recall uses the reference's k. Measures as `SweepEvaluation` does, from the stored
    /// reference.
    public static func evaluate(_ run: SweepPlan.Run, capture: Capture, reference: DenseReference,
                                pageSize: Int, detail: Detail, backend: any ProbeAttentionBackend = CPUProbeAttention()) -> RunResult {
        var accumulator = RunAccumulator(run: run, model: capture.model, promptTokens: capture.sequences.map(\.positions.tokens.count),
                                         detail: detail)
        let prepared: any PreparedProbeAttention, cache: CompressedCache
        let made = SweepEvaluation.pipeline(run, model: capture.model, sequences: capture.sequences.map(\.positions)).flatMap { pipeline in
            accumulator.ran = pipeline.description
            accumulator.warn(pipeline.warnings)
            return SweepEvaluation.compress(pipeline, capture: capture, pageSize: pageSize)
        }.flatMap { c in SweepEvaluation.prepare(c.cache, on: backend).map { (c, $0) } }
        switch made {
        case .failure(let failure):
            accumulator.fail(failure)
            return accumulator.result()
        case .success(let (c, p)):
            (cache, prepared) = (c.cache, p)
            accumulator.warn(c.warnings)
        }
        let m = capture.model
        for (s, seq) in capture.sequences.enumerated() {
            for l in 0..<m.layerCount {
                let probes = seq.layers[l].probeQueries!.floats()
                let measured = RunLayer.measure(heads: cache.sequences[s].layers[l], prepared: prepared, sequence: s, layer: l, reportedLayer: l,
                                                probes: probes, probePositions: seq.positions.probes, window: m.layerKinds[l].windowSize,
                                                tokenPositions: seq.positions.tokens)
                switch measured {
                case .failure(let failure):
                    accumulator.fail(failure)
                    return accumulator.result()
                case .success(let layer):
                    let ref = reference.layers[s][l]
                    let block = ReferenceBlock(firstRow: 0, rows: probes.heads * probes.tokens, output: ref.output.storage,
                                               probabilities: ref.probabilities, tokens: seq.positions.tokens.count, top: ref.top)
                    accumulator.add(layer: l, tokens: seq.positions.tokens.count, probes: probes.tokens, layer,
                                    rows: block.measure([layer], queryHeads: m.queryHeads, probes: probes.tokens, topK: reference.topK)[0])
                }
            }
        }
        return accumulator.result()
    }

    /// Decode mode: the prompt is compressed, then the probe tokens are decoded one by one
    /// through the compressed cache (appended, attended, then every stage's decode step: evictions,
    /// re-tiering, pruning), against dense attention over the prompt and the probes so far.
    /// Memory is the cache after the last probe over the dense f16 bytes of prompt + probes;
    /// mass and top-k recall are not defined here (NaN).
    /// `backend`: where the session attends (the CPU by default).
    public static func evaluateDecode(_ run: SweepPlan.Run, capture: Capture, pageSize: Int, detail: Detail,
                                      backend: any SessionAttendBackend = CPUSessionBackend()) -> RunResult {
        let empty = Summary([Double]())
        let m = capture.model, d = m.headDim
        let denseBytes = capture.sequences.reduce(0) { $0 + m.denseKVBytes(tokens: $1.positions.tokens.count + $1.positions.probes.count) }
        var result = RunResult(run: run, bytes: 0, denseBytes: denseBytes, memoryRatio: .nan, tokenShare: .nan,
                               relativeL2: empty, cosine: empty, massRecall: empty, topKRecall: empty)
        var rel: [Double] = [], cos: [Double] = [], bytes = 0, kept = 0, total = 0
        var layerRows: [[Double]] = Array(repeating: [], count: m.layerCount)
        do {
            let pipeline = try PolicyPipeline(parsing: run.policy)
            for s in capture.sequences.indices {
                let sim = try DecodeSimulation.run(pipeline, capture: capture, sequence: s, pageSize: pageSize, backend: backend)
                bytes += sim.finalBytes
                let seq = capture.sequences[s]
                total += (seq.positions.tokens.count + seq.positions.probes.count) * m.kvHeads * m.layerCount
                let stored = sim.finalHeads.first?.count ?? m.kvHeads
                kept += sim.finalHeads.reduce(0) { $0 + $1.reduce(0) { $0 + $1.kept.count } } * m.kvHeads / stored
                for l in 0..<m.layerCount {
                    for (out, ref) in zip(sim.outputs[l], sim.reference[l]) {
                        for qh in 0..<m.queryHeads {
                            // Rows of d elements on both sides.
                            let r = try! AttentionMetrics.relativeL2(reference: ref.storage[qh * d..<(qh + 1) * d], approximation: out.storage[qh * d..<(qh + 1) * d])
                            rel.append(r)
                            cos.append(try! AttentionMetrics.cosineSimilarity(ref.storage[qh * d..<(qh + 1) * d], out.storage[qh * d..<(qh + 1) * d]))
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
