import KVPack

/// `snapkv(keep=0.25, window=32, kernel=5, pool=avg, gqa=mean)`: SnapKV (Li et al. 2024, arXiv
/// 2404.14469; reference code FasterDecoding/SnapKV on GitHub). The observation window's queries vote:
/// softmax over all kept keys (causal by position), summed over the window queries, on the prefix
/// (the tokens before the window); the votes are pooled along the token axis (kernel `kernel`,
/// stride 1, zero padding counted in averages as PyTorch's avg_pool1d does; max pooling pads
/// with -inf); each head keeps its top `keep − window` prefix tokens plus every window token.
/// Ties keep the lower position. A head whose kept tokens already fit the budget is left alone;
/// a budget below the window is an error (the window tokens are always kept), and so is a
/// `window` longer than the capture's window queries, unless it is the default 32 (then all there
/// are, with a warning).
///
/// Grouped-query attention: `gqa=mean` (default) averages the pooled votes over the query heads
/// of each KV head and selects per KV head (the GQA saving is kept; kvpress's choice).
/// `gqa=repeat` does what the original code does: every KV head is repeated per query head and
/// each copy keeps its own set, so the cache holds `queryHeads` heads (no GQA saving; for
/// comparisons with the original's kept tokens).
public struct SnapKV: KVPolicy {
    public enum Pooling: String, Sendable { case avg, max }
    public enum GroupMode: String, Sendable { case mean, `repeat` }

    public var keep: Budget
    public var window: Int
    public var kernel: Int
    public var pooling: Pooling
    public var gqa: GroupMode

    public init(keep: Budget, window: Int = 32, kernel: Int = 5, pooling: Pooling = .avg, gqa: GroupMode = .mean) {
        self.keep = keep
        self.window = window
        self.kernel = kernel
        self.pooling = pooling
        self.gqa = gqa
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        let kernel = try a.oddInt("kernel", default: 5, range: 1...1023)
        let poolText = try a.text("pool", default: "avg")
        guard let pool = Pooling(rawValue: poolText) else {
            throw .badValue(policy: "snapkv", argument: "pool", value: poolText, expected: "avg or max")
        }
        let gqaText = try a.text("gqa", default: "mean")
        guard let gqa = GroupMode(rawValue: gqaText) else {
            throw .badValue(policy: "snapkv", argument: "gqa", value: gqaText, expected: "mean or repeat")
        }
        self.init(keep: try a.budget(), window: try a.int("window", default: ObservationWindow.defaultWindow, range: 1...1_000_000),
                  kernel: kernel, pooling: pool, gqa: gqa)
    }

    public func resolved(for model: ModelFacts, sequences: [SequencePositions], warnings: inout [String]) throws(PolicyError) -> any KVPolicy {
        var r = self
        r.window = try ObservationWindow.resolve(window, policy: "snapkv", sequences: sequences, warnings: &warnings)
        return r
    }

    public var spec: PolicySpec.Stage {
        PolicySpec.stage("snapkv", [("keep", keep.description), ("window", "\(window)"), ("kernel", "\(kernel)"),
                                    ("pool", pooling.rawValue), ("gqa", gqa.rawValue)])
    }

    public var budget: Budget? { keep }

    public func expectedKept(available n: Int, allocated: Int, sequence: SequenceCapture) -> ClosedRange<Int> {
        guard allocated < n, !sequence.positions.window.isEmpty else { return n...n }
        let windowTokens = min(window, sequence.positions.window.count, n)
        // Window tokens are always kept (a budget below the window keeps the window); a head
        // whose window query sees no kept key is left alone.
        return max(allocated, windowTokens)...n
    }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        if gqa == .repeat { plan.repeatPerQueryHead(capture.model) }
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        for (s, seq) in capture.sequences.enumerated() {
            let w = min(window, seq.positions.window.count)
            guard w > 0 else { continue } // no observation queries: nothing to vote with
            let firstWindow = seq.positions.window[seq.positions.window.count - w]
            for l in seq.layers.indices {
                for h in plan.heads[s][l].indices {
                    let head = plan.heads[s][l][h]
                    let n = head.kept.count
                    let budget = allocation[s][l][h]
                    guard budget < n else { continue }
                    let prefix = head.kept.filter { seq.positions.tokens[$0] < firstWindow }.count
                    guard budget >= n - prefix else {
                        throw .budgetBelowArgument(policy: "snapkv", keep: keep.description, kept: budget, argument: "window", value: window)
                    }
                    let prefixBudget = budget - (n - prefix)
                    guard let scores = ObservationWindow.score(capture, plan, s, l, h, window: w) else { continue }
                    let votes = pooledVotes(scores, prefix: prefix)
                    let chosen = topIndices(votes, count: prefixBudget)
                    plan.heads[s][l][h].restrict(to: chosen + Array(prefix..<n))
                }
            }
        }
    }

    /// Window votes on the prefix, pooled per query head, then averaged over the group.
    func pooledVotes(_ scores: ObservationWindow, prefix: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: prefix)
        for sum in scores.summedPerQueryHead(columns: prefix) {
            let pooled = pool1d(sum, kernel: kernel, max: pooling == .max)
            for j in 0..<prefix { mean[j] += pooled[j] / Float(scores.group) }
        }
        return mean
    }
}
