import Dispatch
import KVPack
import Synchronization

/// One probe row's measurements for one run: a (query head, probe) of one layer.
struct ProbeRow: Sendable, Hashable {
    var relativeL2: Double
    var cosine: Double
    var massRecall: Double
    var topKRecall: Double
}

/// The dense reference rows of one KV head's query heads, and what each run's compressed layer
/// gives on them.
struct ReferenceBlock {
    /// Global index (query head × probes + probe) of the block's first row.
    var firstRow: Int
    var rows: Int
    /// Reference outputs `[rows, headDim]` and softmax rows `[rows, tokens]`.
    var output: [Float]
    var probabilities: [Float]
    var tokens: Int
    /// Each row's top-k token indices, when computed already (nil: `measure` computes them).
    var top: [[Int]]?

    /// The dense attention of KV head `kvHead`'s query heads in `layer`: only that head's keys,
    /// values and probabilities are held.
    /// - Throws: `AttentionError` (a probe that sees no key).
    static func dense(_ layer: LayerCapture, probes: HeadTensor<Float>, kvHead h: Int, mask: AttentionMask) throws(AttentionError) -> ReferenceBlock {
        let g = probes.heads / layer.keys.heads
        // h is one of the layer's KV heads (the caller's loop), its query heads within the probes'.
        let r = try DenseAttention.attend(queries: try! probes.slicingHeads(h * g..<(h + 1) * g), keys: try! layer.keys.slicingHeads(h..<h + 1),
                                          values: try! layer.values.slicingHeads(h..<h + 1), mask: mask, keepProbabilities: true)
        return ReferenceBlock(firstRow: h * g * probes.tokens, rows: g * probes.tokens, output: r.output.storage,
                              probabilities: r.probabilities!, tokens: r.tokens, top: nil)
    }

    /// Every row against every run (nil runs are skipped: `[]`), rows in parallel: `[run][row]`.
    /// A run's query head `qh` reads stored head `qh / (queryHeads / storedHeads)`.
    func measure(_ runs: [RunLayer?], queryHeads: Int, probes: Int, topK: Int) -> [[ProbeRow]] {
        let d = output.count / max(1, rows), n = tokens
        let results = Mutex([[ProbeRow?]](repeating: [ProbeRow?](repeating: nil, count: rows), count: runs.count))
        DispatchQueue.concurrentPerform(iterations: rows) { i in
            let global = firstRow + i, qh = global / probes
            let top = self.top?[i] ?? probabilities.withUnsafeBufferPointer {
                topIndices(UnsafeBufferPointer(rebasing: $0[i * n..<(i + 1) * n]), count: topK)
            }
            var measured: [ProbeRow?] = []
            for run in runs {
                guard let run else { measured.append(nil); continue }
                let kept = run.kept[qh / (queryHeads / run.kept.count)]
                let o = global * d
                // Rows of d elements on both sides.
                let rel = try! AttentionMetrics.relativeL2(reference: output[i * d..<(i + 1) * d], approximation: run.outputs.storage[o..<o + d])
                let cos = try! AttentionMetrics.cosineSimilarity(output[i * d..<(i + 1) * d], run.outputs.storage[o..<o + d])
                var mass = 0.0
                probabilities.withUnsafeBufferPointer { p in
                    kept.withUnsafeBufferPointer { mask in
                        for t in 0..<n where mask[t] { mass += Double(p[i * n + t]) }
                    }
                }
                let recall = top.isEmpty ? 1 : Double(top.filter { kept[$0] }.count) / Double(top.count)
                measured.append(ProbeRow(relativeL2: rel, cosine: cos, massRecall: mass, topKRecall: recall))
            }
            results.withLock { all in for r in all.indices { all[r][i] = measured[r] } }
        }
        return results.withLock { all in all.map { $0.compactMap { $0 } } }
    }
}
