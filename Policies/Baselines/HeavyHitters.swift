import KVPack

/// `h2o(keep=0.25, recent=0.5, window=32)`: H2O-style heavy hitters (Zhang et al. 2023, arXiv
/// 2306.14048): each head keeps its most recent `recent · keep` tokens plus the tokens with the
/// most accumulated attention. The accumulation runs over the captured query rows (a capture
/// holds the last `window` prompt queries, not all of them; KVCache-Factory's prefill H2O uses
/// every prompt query), summed over the query heads of the group, unpooled. Ties keep the
/// lower position.
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
    }
}
