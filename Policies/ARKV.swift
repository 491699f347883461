import CKVPackHalf
import Foundation
import KVPack

/// `arkv(keep=1024, window=32, quant=token, gamma=263.81)`: ARKV (Lei & Ilager, arXiv 2603.08727;
/// reference code Large-scale-Sustainable-Computing-LSC/ARKV on GitHub). Each token is original (f16), quantized
/// (`quant`, int8 or int4) or evicted.
///
/// Prefill, per layer, from the observation window's attention `P` (the last `window` queries
/// over the past keys, window keys excluded, not renormalised):
/// - a preference score `pref = H^(1/τ1) · Var^(1/τ2) · Kurt^(1/τ3)`, with H the entropy summed
///   over every entry, Var the unbiased variance over the queries summed over heads and keys,
///   Kurt the Pearson kurtosis (m4/m2², m2 ≥ 1e-8) summed likewise; the layer's share of
///   original tokens is `r = pref / max over layers`;
/// - a heavy-hitter score per head, `mean_q P + γ · var_q P`, pooled (avg, kernel 5) and
///   averaged over the query heads of the group.
///
/// Each head keeps `keep` tokens (`C`, including the window): the top `C − W` past tokens by
/// score plus the `W` window tokens. Of the kept past tokens the top `round(r · (C − W))` stay
/// f16 and the rest are quantized; the window is f16. The reference code keeps every prefill
/// token in f16 and quantizes only at its first decode eviction; KVPack applies the tiers at
/// prefill, so an offline cache has the memory the method is meant to save.
///
/// Decode, per layer: once a head holds more than `C` tokens, it keeps ⌊0.75 · (T − W)⌋ past
/// tokens by this step's single-query score (mean only, pooled, group-averaged) plus the
/// window; the top `round(r · (C − W))` of them that are still f16 stay f16, the rest are
/// quantized (a quantized token never returns to f16: its original is gone). The reference
/// subtracts W from that original budget a second time; KVPack does not.
public struct ARKV: KVPolicy {
    public var keep: Budget
    public var window: Int
    /// The quantized tier's encoding; nil: int8 with one scale per token and head (the
    /// port's recommended form of the reference's per-token FP8 scale).
    public var quantized: PageEncoding?
    public var gamma: Double
    public var tau: (Double, Double, Double)

    public static let defaultTau = (7.774380648611771, 5.407015096778621, 5.527702582901318)

    public init(keep: Budget, window: Int = 32, quantized: PageEncoding? = nil,
                gamma: Double = 263.8108280337562, tau: (Double, Double, Double) = ARKV.defaultTau) {
        self.keep = keep
        self.window = window
        self.quantized = quantized
        self.gamma = gamma
        self.tau = tau
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        let q: PageEncoding? = try a.text("quant", default: "token") == "token" ? nil : try a.encoding("quant", default: .f16)
        if let q, q.kind != .int8 && q.kind != .int4 {
            throw .badValue(policy: "arkv", argument: "quant", value: q.description, expected: "token (int8, a scale per token) or an int8 or int4 encoding")
        }
        self.init(keep: try a.budget(), window: try a.int("window", default: ObservationWindow.defaultWindow, range: 1...1_000_000), quantized: q,
                  gamma: try a.double("gamma", default: 263.8108280337562, range: 0..<1e9),
                  tau: (try a.double("tau1", default: ARKV.defaultTau.0, range: 1e-6..<1e6),
                        try a.double("tau2", default: ARKV.defaultTau.1, range: 1e-6..<1e6),
                        try a.double("tau3", default: ARKV.defaultTau.2, range: 1e-6..<1e6)))
    }

    public var spec: PolicySpec.Stage {
        var args = [("keep", keep.description), ("window", "\(window)"), ("quant", quantized?.description ?? "token"), ("gamma", "\(gamma)")]
        // The temperatures when they are not the defaults, so that the spec says what ran.
        for (name, value, standard) in [("tau1", tau.0, ARKV.defaultTau.0), ("tau2", tau.1, ARKV.defaultTau.1), ("tau3", tau.2, ARKV.defaultTau.2)]
        where value != standard {
            args.append((name, "\(value)"))
        }
        return PolicySpec.stage("arkv", args)
    }

    public func resolved(for model: ModelFacts, sequences: [SequencePositions], warnings: inout [String]) throws(PolicyError) -> any KVPolicy {
        var r = self
        r.window = try ObservationWindow.resolve(window, policy: "arkv", sequences: sequences, warnings: &warnings)
        return r
    }

    public var budget: Budget? { keep }

    public func expectedKept(available n: Int, allocated: Int, sequence: SequenceCapture) -> ClosedRange<Int> {
        guard !sequence.positions.window.isEmpty, n > min(window, sequence.positions.window.count) else { return n...n }
        let kept = min(n, max(allocated, min(window, sequence.positions.window.count)))
        return kept...kept
    }

    /// Per key column of one query head's window attention `[window, keys]`: mean, unbiased
    /// variance and Pearson kurtosis over the window queries, and the column's entropy terms.
    /// Two row-major passes (cache-friendly), fp32 per column, as the reference computes.
    struct ColumnMoments {
        var mean: [Float], variance: [Float], kurtosis: [Float]
        var entropy: Double

        init(_ w: ObservationWindow, group g: Int, past: Int) {
            let q = Float(w.window)
            var sum = [Float](repeating: 0, count: past), h = [Float](repeating: 0, count: past)
            var m2 = [Float](repeating: 0, count: past), m4 = [Float](repeating: 0, count: past)
            var mean: [Float] = []
            w.probabilities.withUnsafeBufferPointer { p in
                // The group's window rows, `keys` apart; columns 0 ..< past. Vectorized C: sums,
                // -x·ln x (the entropy terms), then the central moments about the column means.
                let rows = p.baseAddress! + g * w.window * w.keys
                kvp_column_moments(rows, w.window, w.keys, past, &sum, &h)
                mean = sum.map { $0 / q }
                kvp_central_moments(rows, w.window, w.keys, past, mean, &m2, &m4)
            }
            self.mean = mean
            variance = w.window > 1 ? m2.map { $0 / (q - 1) } : [Float](repeating: 0, count: past)
            kurtosis = (0..<past).map { j in
                let pm2 = max(m2[j] / q, 1e-8)
                return (m4[j] / q) / (pm2 * pm2)
            }
            entropy = h.reduce(0.0) { $0 + Double($1) }
        }
    }

    /// The layer statistics summed over heads and key columns.
    struct LayerStatistics {
        var entropy = 0.0, variance = 0.0, kurtosis = 0.0

        mutating func add(_ m: ColumnMoments) {
            entropy += m.entropy
            variance += m.variance.reduce(0.0) { $0 + Double($1) }
            kurtosis += m.kurtosis.reduce(0.0) { $0 + Double($1) }
        }

        func preference(_ tau: (Double, Double, Double)) -> Double {
            pow(max(entropy, 0), 1 / tau.0) * pow(variance, 1 / tau.1) * pow(kurtosis, 1 / tau.2)
        }
    }

    /// `mean_q P + γ·var_q P` per past key, pooled, averaged over the group.
    func heavyHitterScores(_ moments: [ColumnMoments], past: Int) -> [Float] {
        var out = [Float](repeating: 0, count: past)
        for m in moments {
            let s = (0..<past).map { m.mean[$0] + Float(gamma) * m.variance[$0] }
            let pooled = pool1d(s, kernel: 5)
            for j in 0..<past { out[j] += pooled[j] / Float(moments.count) }
        }
        return out
    }

    func tier(_ model: ModelFacts) -> PageEncoding { quantized ?? .int8(QuantizationGrouping(groupSize: model.headDim)) }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let quantized = tier(capture.model)
        do { try EncodedRows.validate(quantized, dim: capture.model.headDim) } catch { throw .layout(error) }
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        var originBudgets = plan.heads.map { $0.map { _ in 0 } }
        for (s, seq) in capture.sequences.enumerated() {
            let w = min(window, seq.positions.window.count)
            guard w > 0 else { continue }
            // Scores and layer preferences first: the original share needs every layer's.
            var prefs: [Double] = [], scores: [[[Float]?]] = []
            for l in seq.layers.indices {
                var stats = LayerStatistics()
                var layerScores: [[Float]?] = []
                for h in plan.heads[s][l].indices {
                    let n = plan.heads[s][l][h].kept.count
                    let past = max(0, n - w)
                    guard past > 0, let ow = ObservationWindow.score(capture, plan, s, l, h, window: w) else {
                        layerScores.append(nil)
                        continue
                    }
                    let moments = (0..<ow.group).map { ColumnMoments(ow, group: $0, past: past) }
                    for m in moments { stats.add(m) }
                    layerScores.append(heavyHitterScores(moments, past: past))
                }
                prefs.append(stats.preference(tau))
                scores.append(layerScores)
            }
            let top = prefs.max() ?? 0
            for l in seq.layers.indices {
                let share = top > 0 && top.isFinite ? prefs[l] / top : 1
                for h in plan.heads[s][l].indices {
                    let n = plan.heads[s][l][h].kept.count
                    let c = allocation[s][l][h]
                    let wn = min(w, n)
                    if c < wn && c < n {
                        throw .budgetBelowArgument(policy: "arkv", keep: keep.description, kept: c, argument: "window", value: window)
                    }
                    let pastBudget = max(0, c - wn)
                    let origin = min(pastBudget, max(0, n - wn), Int((share * Double(pastBudget)).rounded()))
                    originBudgets[s][l] = origin
                    guard let hh = scores[l][h] else { continue }
                    let kept = topIndices(hh, count: pastBudget)
                    let originals = Set(kept.prefix(origin))
                    plan.heads[s][l][h].restrict(to: kept + Array(n - wn..<n))
                    for (i, j) in kept.sorted().enumerated() where !originals.contains(j) {
                        plan.heads[s][l][h].keyEncodings[i] = quantized
                        plan.heads[s][l][h].valueEncodings[i] = quantized
                    }
                }
            }
        }
        plan.stageState["arkv"] = originBudgets
        plan.stageState["arkv.capacity"] = plan.heads.indices.map { s in
            plan.heads[s].indices.map { l in plan.heads[s][l].indices.map { allocation[s][l][$0] }.min() ?? 0 }
        }
    }

    public var actsAtDecode: Bool { true }

    public func decodeStep(_ plan: inout CompressionPlan, step: DecodeStep) throws(PolicyError) {
        let (s, l) = (step.sequence, step.layer)
        let quantized = tier(step.model)
        guard let c = plan.stageState["arkv.capacity"]?[s][l], let origin = plan.stageState["arkv"]?[s][l] else { return }
        for h in plan.heads[s][l].indices {
            let head = plan.heads[s][l][h]
            let t = head.kept.count
            guard t > c else { continue }
            let wn = min(window, t)
            let past = t - wn
            let keepCount = Int((0.75 * Double(past)).rounded(.down))
            guard let rows = step.probabilities(plan, head: h) else { continue }
            var score = [Float](repeating: 0, count: past)
            for row in rows {
                let pooled = pool1d(Array(row.prefix(past)), kernel: 5)
                for j in 0..<past { score[j] += pooled[j] / Float(rows.count) }
            }
            let kept = topIndices(score, count: keepCount)
            let stillOriginal = kept.filter { head.keyEncodings[$0] == .f16 }
            let originals = Set(stillOriginal.prefix(min(origin, keepCount)))
            let keys = head.keyEncodings, values = head.valueEncodings
            plan.heads[s][l][h].restrict(to: kept + Array(past..<t))
            for (i, j) in kept.sorted().enumerated() {
                if originals.contains(j) { continue }
                plan.heads[s][l][h].keyEncodings[i] = keys[j] == .f16 ? quantized : keys[j]
                plan.heads[s][l][h].valueEncodings[i] = values[j] == .f16 ? quantized : values[j]
            }
        }
    }
}
