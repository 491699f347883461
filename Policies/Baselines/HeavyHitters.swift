import KVPack

/// `h2o(keep=0.25, recent=0.5, window=32)`: H2O-style heavy hitters (Zhang et al. 2023, arXiv
/// 2306.14048): each head keeps its most recent `recent · keep` tokens plus the tokens with the
/// most accumulated attention. The accumulation runs over the captured query rows (a capture
/// holds the last `window` prompt queries, not all of them; KVCache-Factory's prefill H2O uses
/// every prompt query), summed over the query heads of the group, unpooled. Ties keep the
/// lower position.
///
/// At decode (a live session) the head keeps its budget, as H2O's fixed-size cache does: each new
/// token's query adds its attention (softmax over the kept keys, summed over the group) to the
/// running score of every kept token, the new token starting from its own; when the head holds
/// more than its budget, the lowest-scored token older than the recent `recent · budget` goes
/// (ties: the oldest). The running scores live in the session's policy state; when another
/// stage of the pipeline evicts tokens at decode, the scores restart from zero.
public struct HeavyHitters: KVPolicy {
    public var keep: Budget
    public var recent: Double
    public var window: Int

    public init(keep: Budget, recent: Double = 0.5, window: Int = 32) {
        self.keep = keep
        self.recent = recent
        self.window = window
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        self.init(keep: try a.budget(), recent: try a.double("recent", default: 0.5, range: 0..<1.0000001),
                  window: try a.int("window", default: ObservationWindow.defaultWindow, range: 1...1_000_000))
    }

    public func resolved(for model: ModelFacts, sequences: [SequencePositions], warnings: inout [String]) throws(PolicyError) -> any KVPolicy {
        var r = self
        r.window = try ObservationWindow.resolve(window, policy: "h2o", sequences: sequences, warnings: &warnings)
        return r
    }

    public var spec: PolicySpec.Stage {
        PolicySpec.stage("h2o", [("keep", keep.description), ("recent", "\(recent)"), ("window", "\(window)")])
    }

    public var budget: Budget? { keep }

    public func expectedKept(available n: Int, allocated: Int, sequence: SequenceCapture) -> ClosedRange<Int> {
        sequence.positions.window.isEmpty ? n...n : allocated...allocated
    }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        for s in plan.heads.indices {
            guard !capture.sequences[s].positions.window.isEmpty else { continue }
            for l in plan.heads[s].indices {
                for h in plan.heads[s][l].indices {
                    let n = plan.heads[s][l][h].kept.count
                    let budget = allocation[s][l][h]
                    guard budget < n else { continue }
                    let recentCount = min(budget, Int((recent * Double(budget)).rounded(.down)))
                    let older = n - recentCount
                    var heavy: [Int] = []
                    if let scores = ObservationWindow.score(capture, plan, s, l, h, window: window) {
                        var total = [Float](repeating: 0, count: older)
                        for sum in scores.summedPerQueryHead(columns: older) { for j in 0..<older { total[j] += sum[j] } }
                        heavy = topIndices(total, count: budget - recentCount)
                    } else {
                        heavy = Array(0..<(budget - recentCount)) // no scores: the oldest, like a sink
                    }
                    plan.heads[s][l][h].restrict(to: heavy + Array(older..<n))
                }
            }
        }
        // For decode: each head's budget and the running scores of the tokens it keeps.
        var budgets: [[Int]] = [], scores: [String: [[Int]]] = [:]
        for s in plan.heads.indices {
            var row: [Int] = []
            for l in plan.heads[s].indices {
                for h in plan.heads[s][l].indices {
                    let kept = plan.heads[s][l][h].kept
                    row.append(min(allocation[s][l][h], kept.count))
                    var total = [Float](repeating: 0, count: kept.count)
                    if let window = ObservationWindow.score(capture, plan, s, l, h, window: window) {
                        let n = kept.count
                        for sum in window.summedPerQueryHead(columns: n) { for j in 0..<n { total[j] += sum[j] } }
                    }
                    scores[Self.scoresKey(l, h), default: Array(repeating: [], count: plan.heads.count)][s] = Self.encode(total)
                }
            }
            budgets.append(row)
        }
        plan.stageState[Self.budgetsKey] = budgets
        for (key, value) in scores { plan.stageState[key] = value }
    }

    public var actsAtDecode: Bool { true }

    public func decodeStep(_ plan: inout CompressionPlan, step: DecodeStep) throws(PolicyError) {
        let (s, l) = (step.sequence, step.layer)
        guard let budgets = plan.stageState[Self.budgetsKey], budgets.indices.contains(s) else { return }
        let heads = plan.heads[s][l].count
        for h in 0..<heads where budgets[s].indices.contains(l * heads + h) {
            let budget = budgets[s][l * heads + h], key = Self.scoresKey(l, h)
            let n = plan.heads[s][l][h].kept.count
            var scores = plan.stageState[key].flatMap { $0.indices.contains(s) ? Self.decode($0[s]) : nil } ?? []
            if scores.count > n { scores = [] } // another stage evicted: start over
            scores += Array(repeating: 0, count: n - scores.count)
            if let p = step.probabilities(plan, head: h) {
                for row in p { for j in 0..<n { scores[j] += row[j] } }
            }
            if n > budget, budget > 0 {
                let recentCount = min(budget, Int((recent * Double(budget)).rounded(.down)))
                let older = n - recentCount
                let victims = Set(topIndices(scores[0..<older].map { -$0 }, count: n - budget))
                let remaining = (0..<n).filter { !victims.contains($0) }
                plan.heads[s][l][h].restrict(to: remaining)
                scores = remaining.map { scores[$0] }
            }
            var rows = plan.stageState[key] ?? Array(repeating: [], count: plan.heads.count)
            while rows.count <= s { rows.append([]) }
            rows[s] = Self.encode(scores)
            plan.stageState[key] = rows
        }
    }

    static let budgetsKey = "h2o.budgets"
    static func scoresKey(_ layer: Int, _ head: Int) -> String { "h2o.scores.\(layer).\(head)" }
    /// Scores as the bit patterns of their floats (the plan's stage state holds integers).
    static func encode(_ scores: [Float]) -> [Int] { scores.map { Int($0.bitPattern) } }
    static func decode(_ bits: [Int]) -> [Float] { bits.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) } }
}
