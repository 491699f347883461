import Foundation
import KVPack

/// `taskkv(keep=0.4, sinks=16, recent=256, window=32, kernel=7, top=256, beta=0.25, m=1)`:
/// Task-KV (He, Liu, Chen, arXiv 2501.15113; no public code: the details below follow a secondary
/// description of the paper, not the paper's full text or code, and are unverified).
///
/// Per layer: each head's semantic vector is `Σ_{j∈I} C_j V_j`, where `C` is the observation
/// window's attention averaged over its queries (and the query heads of the group) and `I` its
/// top `top` tokens; the layer's semantic center is the mean of those vectors. The heads
/// farthest from it (Euclidean) are heterogeneous and keep every token; their number decays
/// linearly over the model's depth, `f(r) = nβ − (nβ − m)·r/(R − 1)` for layer `r` of `R`
/// (rounded; R from the capture's source layer indices), and is lowered until the layer budget
/// (`keep` × heads) still leaves the others room. The other heads share what is left equally:
/// `sinks` first tokens, `recent` last tokens (each cut to fit, sinks first), and the
/// "middle activations": the top window-pooled (avg, `kernel`) attention scores between them.
/// Heads are KV heads (the GQA-correct reading); a model with one KV head has no heterogeneous
/// head unless the budget holds it whole.
public struct TaskKV: KVPolicy {
    public var keep: Budget
    public var sinks: Int
    public var recent: Int
    public var window: Int
    public var kernel: Int
    public var top: Int
    public var beta: Double
    public var m: Double

    public init(keep: Budget, sinks: Int = 16, recent: Int = 256, window: Int = 32, kernel: Int = 7, top: Int = 256,
                beta: Double = 0.25, m: Double = 1) {
        self.keep = keep
        self.sinks = sinks
        self.recent = recent
        self.window = window
        self.kernel = kernel
        self.top = top
        self.beta = beta
        self.m = m
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        let kernel = try a.oddInt("kernel", default: 7, range: 1...1023)
        self.init(keep: try a.budget(), sinks: try a.int("sinks", default: 16, range: 0...1_000_000),
                  recent: try a.int("recent", default: 256, range: 0...1_000_000),
                  window: try a.int("window", default: ObservationWindow.defaultWindow, range: 1...1_000_000), kernel: kernel,
                  top: try a.int("top", default: 256, range: 1...10_000_000),
                  beta: try a.double("beta", default: 0.25, range: 0..<1.0000001),
                  m: try a.double("m", default: 1, range: 0..<1_000_000))
    }

    public var spec: PolicySpec.Stage {
        PolicySpec.stage("taskkv", [("keep", keep.description), ("sinks", "\(sinks)"), ("recent", "\(recent)"),
                                    ("window", "\(window)"), ("kernel", "\(kernel)"), ("top", "\(top)"),
                                    ("beta", "\(beta)"), ("m", "\(m)")])
    }

    public var budget: Budget? { keep }

    public func resolved(for model: ModelFacts, sequences: [SequencePositions], warnings: inout [String]) throws(PolicyError) -> any KVPolicy {
        var r = self
        r.window = try ObservationWindow.resolve(window, policy: "taskkv", sequences: sequences, warnings: &warnings)
        return r
    }

    public func expectedKept(available n: Int, allocated: Int, sequence: SequenceCapture) -> ClosedRange<Int> {
        sequence.positions.window.isEmpty ? n...n : min(n, 1)...n
    }

    /// Heterogeneous heads in layer `r` of `depth` with `n` heads, before the budget check.
    public func heterogeneousCount(layer r: Int, depth: Int, heads n: Int) -> Int {
        let nb = Double(n) * beta
        let f = depth > 1 ? nb - (nb - m) * Double(r) / Double(depth - 1) : nb
        return min(n, max(0, Int(f.rounded())))
    }

    /// Semantic vector of a head: `Σ_{j∈topk(C)} C_j V_j`, in Double.
    func semanticVector(_ c: [Float], values: HeadTensor<Float16>, head source: Int, kept: [Int]) -> [Double] {
        let d = values.headDim
        var v = [Double](repeating: 0, count: d)
        for j in topIndices(c, count: min(top, c.count)) {
            let o = values.rowOffset(head: source, token: kept[j])
            for x in 0..<d { v[x] += Double(c[j]) * Double(values.storage[o + x]) }
        }
        return v
    }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        let depth = (capture.model.sourceLayers.last ?? 0) + 1
        for (s, seq) in capture.sequences.enumerated() {
            guard !seq.positions.window.isEmpty else { continue }
            for (l, layer) in seq.layers.enumerated() {
                let heads = plan.heads[s][l].indices
                // Window attention averaged over queries and the group's query heads.
                var averaged: [[Float]] = []
                for h in heads {
                    let n = plan.heads[s][l][h].kept.count
                    guard let w = ObservationWindow.score(capture, plan, s, l, h, window: window) else {
                        averaged.append([Float](repeating: 0, count: n))
                        continue
                    }
                    var c = [Float](repeating: 0, count: n)
                    for sum in w.summedPerQueryHead() { for j in 0..<n { c[j] += sum[j] / Float(w.group * w.window) } }
                    averaged.append(c)
                }
                let vectors = heads.map { semanticVector(averaged[$0], values: layer.values, head: plan.sourceHead($0),
                                                         kept: plan.heads[s][l][$0].kept) }
                let d = capture.model.headDim
                let center = (0..<d).map { x in vectors.reduce(0) { $0 + $1[x] } / Double(vectors.count) }
                let distance = vectors.map { v in zip(v, center).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() }
                // Farthest first; ties go to the lower head.
                let ranked = heads.sorted { distance[$0] != distance[$1] ? distance[$0] > distance[$1] : $0 < $1 }
                let sizes = heads.map { plan.heads[s][l][$0].kept.count }
                let layerBudget = heads.reduce(0) { $0 + allocation[s][l][$1] }
                var count = heterogeneousCount(layer: capture.model.sourceLayers[l], depth: depth, heads: heads.count)
                func fits(_ k: Int) -> Bool {
                    let full = ranked.prefix(k).reduce(0) { $0 + sizes[$1] }
                    return k == heads.count ? full <= layerBudget : full + (heads.count - k) <= layerBudget
                }
                while count > 0, !fits(count) { count -= 1 }
                let heterogeneous = Set(ranked.prefix(count))
                let others = heads.count - count
                guard others > 0 else { continue }
                let share = (layerBudget - ranked.prefix(count).reduce(0) { $0 + sizes[$1] }) / others
                for h in heads where !heterogeneous.contains(h) {
                    let n = sizes[h]
                    let b = min(n, max(1, share))
                    guard b < n else { continue }
                    let k0 = min(sinks, b)
                    let r = min(recent, b - k0)
                    if k0 < sinks || r < recent {
                        plan.warn("taskkv: sinks=\(sinks) and recent=\(recent) do not fit the tokens some heads keep at keep=\(keep); they were cut to fit, sinks first")
                    }
                    let middle = k0..<(n - r)
                    let pooled = pool1d(averaged[h], kernel: kernel)
                    let chosen = topIndices(Array(pooled[middle]), count: b - r - k0).map { $0 + k0 }
                    plan.heads[s][l][h].restrict(to: Array(0..<k0) + chosen + Array(n - r..<n))
                }
            }
        }
    }
}
