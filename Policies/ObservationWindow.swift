import KVPack

/// The scoring primitive SnapKV, ARKV, Task-KV and H2O share: the last `window` captured
/// queries of a stored head's query heads, softmax over the head's kept keys (causal by
/// position, and the layer's sliding window), in fp32.
struct ObservationWindow {
    /// Softmax rows `[group, window, kept]`, flattened.
    var probabilities: [Float]
    var group: Int
    var window: Int
    var keys: Int

    /// Probability of query `(g, i)` on kept key `j`.
    @inline(__always) func p(_ g: Int, _ i: Int, _ j: Int) -> Float { probabilities[(g * window + i) * keys + j] }

    /// Scores the kept tokens of stored head `h` of layer `l` of sequence `s`; nil when the
    /// capture has no window queries or a window query sees no kept key.
    static func score(_ capture: Capture, _ plan: CompressionPlan, _ s: Int, _ l: Int, _ h: Int, window: Int) -> ObservationWindow? {
        let seq = capture.sequences[s], layer = seq.layers[l], m = capture.model
        let w = min(window, seq.positions.window.count)
        guard w > 0 else { return nil }
        let kept = plan.heads[s][l][h].kept
        guard !kept.isEmpty else { return nil }
        // In range by construction: kept indices of a validated capture, w <= its window queries.
        let keys = try! layer.keys.gatheringRows(head: plan.sourceHead(h), tokens: kept)
        let queryHeads = plan.queryHeads(of: h, model: m)
        let q = try! layer.queries.slicingTokens(layer.queries.tokens - w..<layer.queries.tokens)
            .slicingHeads(queryHeads).floats()
        guard let p = try! WindowProbabilities.compute(keys: keys, queries: q, keyPositions: kept.map { seq.positions.tokens[$0] },
                                                  queryPositions: Array(seq.positions.window.suffix(w)),
                                                  window: m.layerKinds[l].windowSize) else { return nil }
        return ObservationWindow(probabilities: p, group: queryHeads.count, window: w, keys: kept.count)
    }

    /// The observation window of SnapKV, H2O, ARKV and Task-KV when the spec does not say.
    static let defaultWindow = 32

    /// The window a stage scores with on `sequences`: `window`, when every sequence has that many
    /// window queries. Fewer: an error (also when a sequence has none), unless `window` is the
    /// default (a canonical spec spells every default, so a default cannot be told from one
    /// given): then all there are, with a warning.
    static func resolve(_ window: Int, policy: String, sequences: [SequencePositions],
                        warnings: inout [String]) throws(PolicyError) -> Int {
        let available = sequences.map(\.window.count).min() ?? 0
        guard available > 0 else { throw .noWindowQueries(policy: policy) }
        guard window > available else { return window }
        if window != defaultWindow { throw .windowBeyondCapture(policy: policy, window: window, available: available) }
        warnings.append("\(policy): the capture has \(available) window queries, fewer than the default window=\(window); window=\(available) runs")
        return available
    }

    /// Σ over the window queries of each query head: `[group][kept]`.
    func summedPerQueryHead(columns: Int? = nil) -> [[Float]] {
        let n = columns ?? keys
        return (0..<group).map { g in
            var sum = [Float](repeating: 0, count: n)
            sum.withUnsafeMutableBufferPointer { out in
                probabilities.withUnsafeBufferPointer { p in
                    for i in 0..<window {
                        let row = p.baseAddress! + (g * window + i) * keys
                        for j in 0..<n { out[j] += row[j] } // unchecked: vectorized
                    }
                }
            }
            return sum
        }
    }
}

/// 1-D pooling along tokens: kernel `kernel` (odd), stride 1, padding kernel/2; zero padding
/// counted in averages (PyTorch avg_pool1d's count_include_pad), -inf padding for max.
func pool1d(_ x: [Float], kernel: Int, max useMax: Bool = false) -> [Float] {
    let half = kernel / 2, n = x.count
    return [Float](unsafeUninitializedCapacity: n) { out, initialized in
        x.withUnsafeBufferPointer { v in
            for j in 0..<n {
                let lo = Swift.max(0, j - half), hi = Swift.min(n - 1, j + half)
                if useMax {
                    // Padding is -inf: the max over the in-range part.
                    var acc = -Float.infinity
                    for k in lo...hi { acc = Swift.max(acc, v[k]) }
                    out[j] = acc
                } else {
                    // Padding counts as zeros: the in-range sum over the full kernel size.
                    var acc: Float = 0
                    for k in lo...hi { acc += v[k] }
                    out[j] = acc / Float(kernel)
                }
            }
        }
        initialized = n
    }
}
