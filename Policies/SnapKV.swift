import KVPack

/// `snapkv(keep=0.25, window=32, kernel=5, pool=avg)`: SnapKV (Li et al. 2024, arXiv 2404.14469;
/// `../shared/reference/methods.md` section 1). The observation window's queries vote: softmax
/// over all kept keys (causal by position), summed over the window queries, on the prefix (the
/// tokens before the window); the votes are pooled along the token axis (kernel `kernel`,
/// stride 1, zero padding counted in averages as PyTorch's avg_pool1d does; max pooling pads
/// with -inf); for grouped-query attention the pooled votes are averaged over the query heads of
/// each KV head (kvpack's GQA-correct mode, kvpress's choice), and each KV head keeps its top
/// `keep − window` prefix tokens plus every window token. Ties keep the lower position. A head
/// whose kept tokens already fit the budget is left alone. Sums run in fp32 (the original sums
/// in the activation dtype after the softmax).
public struct SnapKV: KVPolicy {
    public enum Pooling: String, Sendable { case avg, max }

    public var keep: Budget
    public var window: Int
    public var kernel: Int
    public var pooling: Pooling

    public init(keep: Budget, window: Int = 32, kernel: Int = 5, pooling: Pooling = .avg) {
        self.keep = keep
        self.window = window
        self.kernel = kernel
        self.pooling = pooling
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        let kernel = try a.int("kernel", default: 5, range: 1...1023)
        guard kernel % 2 == 1 else { throw .badValue(policy: "snapkv", argument: "kernel", value: "\(kernel)", expected: "an odd number") }
        let poolText = try a.text("pool", default: "avg")
        guard let pool = Pooling(rawValue: poolText) else {
            throw .badValue(policy: "snapkv", argument: "pool", value: poolText, expected: "avg or max")
        }
        self.init(keep: try a.budget(), window: try a.int("window", default: 32, range: 1...1_000_000), kernel: kernel, pooling: pool)
    }

    public var spec: PolicySpec.Stage {
        PolicySpec.stage("snapkv", [("keep", keep.description), ("window", "\(window)"), ("kernel", "\(kernel)"), ("pool", pooling.rawValue)])
    }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let m = capture.model
        let group = m.groupSize
        for (s, seq) in capture.sequences.enumerated() {
            let w = min(window, seq.positions.window.count)
            guard w > 0 else { continue } // no observation queries: nothing to vote with
            let windowPositions = Array(seq.positions.window.suffix(w))
            for (l, layer) in seq.layers.enumerated() {
                let queries = layer.queries.slicingTokens(layer.queries.tokens - w..<layer.queries.tokens).floats()
                for h in 0..<m.kvHeads {
                    let head = plan.heads[s][l][h]
                    let n = head.kept.count
                    let budget = keep.count(of: n)
                    guard budget < n else { continue }
                    let positions = head.kept.map { seq.positions.tokens[$0] }
                    let firstWindow = windowPositions[0]
                    let prefix = positions.filter { $0 < firstWindow }.count
                    let windowKept = n - prefix
                    let prefixBudget = max(0, budget - windowKept)
                    var keys: [Float16] = [], rows = 0
                    keys.reserveCapacity(n * m.headDim)
                    for t in head.kept {
                        let o = layer.keys.rowOffset(head: h, token: t)
                        keys.append(contentsOf: layer.keys.storage[o..<o + m.headDim])
                        rows += 1
                    }
                    let kt = try! HeadTensor(heads: 1, tokens: rows, headDim: m.headDim, storage: keys)
                    let qh = queries.slicingHeads(h * group..<(h + 1) * group)
                    let votes: [Float]
                    do {
                        let mask = try AttentionMask(keyPositions: positions, queryPositions: windowPositions)
                        let r = try DenseAttention.attend(queries: qh, keys: kt, values: kt, mask: mask, keepProbabilities: true)
                        votes = pooledVotes(r, group: group, window: w, prefix: prefix)
                    } catch {
                        continue // a window query that sees no kept key: leave the head as it is
                    }
                    let chosen = topIndices(votes, count: prefixBudget)
                    plan.heads[s][l][h].restrict(to: chosen + Array(prefix..<n))
                }
            }
        }
    }

    /// Window votes on the prefix, pooled per query head, then averaged over the group.
    func pooledVotes(_ r: AttentionResult, group: Int, window: Int, prefix: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: prefix)
        for g in 0..<group {
            var sum = [Float](repeating: 0, count: prefix)
            for i in 0..<window {
                let row = r.probabilityRow(head: g, query: i)!
                for j in 0..<prefix { sum[j] += row[row.startIndex + j] }
            }
            let pooled = pool(sum)
            for j in 0..<prefix { mean[j] += pooled[j] / Float(group) }
        }
        return mean
    }

    /// 1-D pooling, kernel `kernel`, stride 1, padding kernel/2 (zeros counted for avg; -inf for max).
    func pool(_ x: [Float]) -> [Float] {
        let half = kernel / 2
        return x.indices.map { j in
            var acc: Float = pooling == .avg ? 0 : -.infinity
            for o in -half...half {
                let v = (0..<x.count).contains(j + o) ? x[j + o] : (pooling == .avg ? 0 : -.infinity)
                acc = pooling == .avg ? acc + v : max(acc, v)
            }
            return pooling == .avg ? acc / Float(kernel) : acc
        }
    }
}
