import KVPack

/// One run's measurements, added layer by layer in (sequence, layer) order; `result` sums them as
/// one pass over the whole capture would. Memory ratios are `ModelFacts.denseKVBytes`'s: against
/// the model's own dense cache, whatever heads the policy stored.
struct RunAccumulator {
    let run: SweepPlan.Run
    let model: ModelFacts
    let detail: RunEvaluation.Detail
    /// The dense f16 bytes of every sequence's prompt.
    let denseBytes: Int
    private var rel: [Double] = [], cos: [Double] = [], mass: [Double] = [], topk: [Double] = []
    private var layerRows: [[(rel: Double, mass: Double, head: Int)]]
    private var layerBytes: [Int]
    private var keptTokens = 0, promptTokens = 0
    private(set) var failure: RunFailure?
    /// The spec that ran, and what the policy adapted (`RunResult.ran`, `.warnings`).
    var ran: String?
    private(set) var warnings: [String] = []

    /// Records warnings once each.
    mutating func warn(_ lines: [String]) { for line in lines where !warnings.contains(line) { warnings.append(line) } }

    init(run: SweepPlan.Run, model: ModelFacts, promptTokens: [Int], detail: RunEvaluation.Detail) {
        self.run = run
        self.model = model
        self.detail = detail
        denseBytes = promptTokens.reduce(0) { $0 + model.denseKVBytes(tokens: $1) }
        layerRows = Array(repeating: [], count: model.layerCount)
        layerBytes = Array(repeating: 0, count: model.layerCount)
    }

    /// Records the first failure; later layers are not measured.
    mutating func fail(_ failure: RunFailure) { if self.failure == nil { self.failure = failure } }

    /// Adds layer `l` of a sequence of `tokens` prompt tokens: the run's layer and its probe rows
    /// (query head outer, `probes` per head).
    mutating func add(layer l: Int, tokens: Int, probes: Int, _ layer: RunLayer, rows: [ProbeRow]) {
        guard failure == nil else { return }
        layerBytes[l] += layer.bytes
        promptTokens += tokens * model.kvHeads
        keptTokens += layer.keptTokens * model.kvHeads / layer.kept.count
        for (i, row) in rows.enumerated() {
            rel.append(row.relativeL2)
            cos.append(row.cosine)
            mass.append(row.massRecall)
            topk.append(row.topKRecall)
            layerRows[l].append((row.relativeL2, row.massRecall, i / probes))
        }
    }

    func result() -> RunResult {
        let empty = Summary([Double]())
        var result = RunResult(run: run, bytes: 0, denseBytes: denseBytes, memoryRatio: .nan, tokenShare: .nan,
                               relativeL2: empty, cosine: empty, massRecall: empty, topKRecall: empty)
        result.ran = ran == run.policy ? nil : ran
        result.warnings = warnings.isEmpty ? nil : warnings
        if let failure {
            result.error = failure.description
            return result
        }
        result.bytes = layerBytes.reduce(0, +)
        result.memoryRatio = Double(result.bytes) / Double(max(1, denseBytes))
        result.tokenShare = Double(keptTokens) / Double(max(1, promptTokens))
        result.relativeL2 = Summary(rel)
        result.cosine = Summary(cos)
        result.massRecall = Summary(mass)
        result.topKRecall = Summary(topk)
        guard detail != .summary else { return result }
        let denseLayer = denseBytes / model.layerCount
        result.layers = (0..<model.layerCount).map { l in
            let rows = layerRows[l]
            var heads: [RunResult.HeadResult]?
            if detail == .heads {
                heads = (0..<model.queryHeads).map { qh in
                    let mine = rows.filter { $0.head == qh }
                    return RunResult.HeadResult(queryHead: qh, relativeL2: mine.reduce(0) { $0 + $1.rel } / Double(max(1, mine.count)),
                                                massRecall: mine.reduce(0) { $0 + $1.mass } / Double(max(1, mine.count)))
                }
            }
            return RunResult.LayerResult(layer: l, sourceLayer: model.sourceLayers[l], kind: model.layerKinds[l].description,
                                         memoryRatio: Double(layerBytes[l]) / Double(max(1, denseLayer)),
                                         relativeL2: Summary(rows.map(\.rel)), massRecall: Summary(rows.map(\.mass)), heads: heads)
        }
        return result
    }
}
