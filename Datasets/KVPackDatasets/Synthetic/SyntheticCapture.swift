import Dispatch
import KVPack

/// Seeded synthetic captures with the statistics of decoder LLM caches, for tests and for
/// benchmarks at shapes no shipped sample reaches:
///
/// - **RoPE** (rotate-half pairing) on keys and queries at their absolute positions;
/// - **attention sinks**: the first `sinks` keys share a low-frequency direction that every
///   query carries after its rotation;
/// - **outlier key channels**: a few channels with a large constant offset;
/// - **local heads**: keys and queries share a direction in the dimensions whose rotation
///   decorrelates over 8-256 tokens, so after RoPE the logit peaks at distance 0 and decays;
/// - **retrieval heads** (every third KV head, shifted by layer): a few "needle" tokens carry
///   distinct directions and each query looks back to one of them (its planted component is the
///   needle's post-RoPE direction, so the match holds at any distance); window queries
///   and probes draw from the same needles, as real retrieval heads do;
/// - **GQA**: the query heads of a group share their KV head's structure with their own noise.
///
/// Each (seed, sequence, layer, head) has its own random stream: any layer is generated alone,
/// reproducibly, and heads are generated in parallel.
public enum SyntheticCapture {
    /// Logit contributions (q·k/√d) of the planted structures.
    static let sinkLogit: Float = 5, localLogit: Float = 6, needleLogit: Float = 8

    /// Generates the whole capture.
    public static func make(_ spec: SyntheticCaptureSpec) throws(CaptureError) -> Capture {
        let facts = try spec.modelFacts()
        let positions = try SequencePositions.contiguous(tokens: spec.tokens, window: spec.window, probes: spec.probes)
        var sequences: [SequenceCapture] = []
        for s in 0..<spec.sequences {
            let layers = (0..<spec.layers).map { unchecked(spec, index: $0, sequence: s) }
            sequences.append(try SequenceCapture(id: String(s), facts: facts, positions: positions, layers: layers))
        }
        return try Capture(model: facts, sequences: sequences,
                           provenance: ["source": "kvpack synthetic", "seed": String(spec.seed)])
    }

    /// Generates layer `index` of sequence `sequence` alone.
    /// - Throws: `CaptureError` for a spec `modelFacts()` refuses.
    public static func layer(_ spec: SyntheticCaptureSpec, index: Int, sequence: Int = 0) throws(CaptureError) -> LayerCapture {
        _ = try spec.modelFacts()
        return unchecked(spec, index: index, sequence: sequence)
    }

    /// `layer` of a spec already accepted by `modelFacts()`.
    static func unchecked(_ spec: SyntheticCaptureSpec, index: Int, sequence: Int) -> LayerCapture {
        let d = spec.headDim, half = d / 2
        let total = spec.tokens + spec.probes
        let rope = RotaryEmbedding(headDim: d, theta: spec.ropeTheta)
        // Low-frequency dims (rotate slowly) and high-frequency dims, in rotate-half pairing.
        let low = Array(half / 2..<half) + Array(half + half / 2..<d)
        // Local heads use pairs whose rotation decorrelates over roughly 8 to 256 tokens.
        let localPairs = (0..<half).filter { (1.0 / 256...1.0 / 8).contains(rope.inverseFrequencies[$0]) }
        let high = localPairs.isEmpty ? Array(0..<half / 2) + Array(half..<half + half / 2)
            : localPairs + localPairs.map { $0 + half }
        let group = spec.queryHeads / spec.kvHeads
        let scale = Float(d).squareRoot()

        var keys = [Float](repeating: 0, count: spec.kvHeads * total * d)
        var values = keys
        var queries = [Float](repeating: 0, count: spec.queryHeads * total * d)
        // Outlier channels and their offsets are per layer, shared by the layer's heads.
        var layerRNG = SplitMix64(seed: spec.seed, sequence, index, -1)
        let outliers = (0..<min(spec.outlierChannels, low.count)).map { _ in
            (low[Int(layerRNG.next() % UInt64(low.count))], (layerRNG.unit() < 0.5 ? -1 : 1) * (6 + 6 * layerRNG.unit()))
        }

        keys.withUnsafeMutableBufferPointer { kb in
        values.withUnsafeMutableBufferPointer { vb in
        queries.withUnsafeMutableBufferPointer { qb in
            let k = _Writes(kb.baseAddress!), v = _Writes(vb.baseAddress!), q = _Writes(qb.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: spec.kvHeads) { head in
                var rng = SplitMix64(seed: spec.seed, sequence, index, head)
                let retrieval = (head + index) % 3 == 0
                let sinkDir = embed(rng.unitVector(dim: low.count, on: 0..<low.count), into: low, dim: d)
                let localDir = embed(rng.unitVector(dim: high.count, on: 0..<high.count), into: high, dim: d)
                let needleDirs = (0..<spec.needles).map { _ in
                    embed(rng.unitVector(dim: low.count, on: 0..<low.count), into: low, dim: d)
                }
                // Needles sit in the middle 80% of the prompt.
                let needlePositions = (0..<spec.needles).map { _ in
                    spec.tokens / 10 + Int(rng.next() % UInt64(max(1, spec.tokens * 8 / 10)))
                }
                let kSink = sinkLogit * scale / 3, qSink: Float = 3
                let kLocal = localLogit * scale / 3, qLocal: Float = 3
                let kNeedle = needleLogit * scale / 3, qNeedle: Float = 3

                for t in 0..<total {
                    let row = k.base + (head * total + t) * d
                    for i in 0..<d { row[i] = rng.gaussian() }
                    for (c, offset) in outliers { row[c] += offset }
                    if t < spec.sinks { for i in low { row[i] += kSink * sinkDir[i] } }
                    if !retrieval { for i in high { row[i] += kLocal * localDir[i] } }
                    if retrieval, let n = needlePositions.firstIndex(of: t) {
                        for i in low { row[i] += kNeedle * needleDirs[n][i] }
                    }
                    rope.apply(to: UnsafeMutableBufferPointer(start: row, count: d), position: t)
                    let vrow = v.base + (head * total + t) * d
                    let vScale: Float = t < spec.sinks ? 0.3 : 1
                    for i in 0..<d { vrow[i] = vScale * rng.gaussian() }
                }
                // Sink and needle directions as the keys carry them after RoPE: queries add these
                // after their own rotation, so the planted match holds at any distance and base.
                let rotatedNeedles = needleDirs.indices.map { n -> [Float] in
                    var dir = needleDirs[n]
                    dir.withUnsafeMutableBufferPointer { rope.apply(to: $0, position: needlePositions[n]) }
                    return dir
                }
                for member in 0..<group {
                    let qHead = head * group + member
                    var qrng = SplitMix64(seed: spec.seed, sequence, index, head, member + 1)
                    // Only the window and probe positions are kept: generate just those.
                    for t in spec.tokens - spec.window..<total {
                        let row = q.base + (qHead * total + t) * d
                        for i in 0..<d { row[i] = qrng.gaussian() }
                        if !retrieval { for i in high { row[i] += qLocal * localDir[i] } }
                        rope.apply(to: UnsafeMutableBufferPointer(start: row, count: d), position: t)
                        for i in low { row[i] += qSink * sinkDir[i] }
                        if retrieval {
                            // Each query looks back to one needle, chosen by position and head.
                            let candidates = needlePositions.indices.filter { needlePositions[$0] < t }
                            if !candidates.isEmpty {
                                let pick = candidates[Int(SplitMix64.mix(UInt64(t / 4 &* 31 &+ member)) % UInt64(candidates.count))]
                                for i in 0..<d { row[i] += qNeedle * rotatedNeedles[pick][i] }
                            }
                        }
                    }
                }
            }
        }}}
        func split(_ all: [Float], heads: Int, range: Range<Int>) -> HeadTensor<Float16>? {
            guard !range.isEmpty else { return nil }
            let full = try! HeadTensor<Float>(heads: heads, tokens: total, headDim: d, storage: all)
            return try! full.slicingTokens(range).halves() // range within 0..<total
        }
        let prompt = 0..<spec.tokens, window = spec.tokens - spec.window..<spec.tokens
        let probes = spec.tokens..<total
        return LayerCapture(
            keys: split(keys, heads: spec.kvHeads, range: prompt)!,
            values: split(values, heads: spec.kvHeads, range: prompt)!,
            queries: split(queries, heads: spec.queryHeads, range: window)
                ?? (try! HeadTensor(zeros: spec.queryHeads, 0, d)), // d > 0: an accepted spec
            probeQueries: split(queries, heads: spec.queryHeads, range: probes),
            probeKeys: split(keys, heads: spec.kvHeads, range: probes),
            probeValues: split(values, heads: spec.kvHeads, range: probes))
    }

    private static func embed(_ v: [Float], into dims: [Int], dim: Int) -> [Float] {
        var out = [Float](repeating: 0, count: dim)
        for (j, i) in dims.enumerated() { out[i] = v[j] }
        return out
    }
}

/// Disjoint per-head writes from the parallel generator.
private struct _Writes: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
}
