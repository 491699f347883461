import Foundation
import KVPack

/// `paged(keep=512, block=16, score=vk, mode=global)`: PagedEviction (Chitty-Venkata et al.,
/// arXiv 2509.04377; the authors' code: krishnateja95/PagedEviction and their vLLM fork
/// krishnateja95/vllm-Paged-Compression on GitHub). Attention-free: a token's score
/// is `‖V‖/‖K‖` (`score=vk`, the paper's metric; `v` = ‖V‖ as the authors' vLLM fork does;
/// `invk` = 1/‖K‖), higher keeps.
///
/// Prefill, per layer: a prompt of `L` tokens over the budget `C` keeps its first block (the
/// sink), its last slice (the final full block plus the `L mod B` remainder) and the top `C − 2B`
/// tokens of the middle, so `C + L mod B` tokens remain. One index set is shared by the layer's
/// heads (token score averaged over heads) when the heads hold the same tokens, as the paper's
/// pages are; heads already made ragged by an earlier stage are scored alone.
///
/// Decode, per layer (each layer has its own block table): when the cache holds more than `C`
/// tokens and the newest block has just filled, the block with the lowest mean score is
/// evicted, never the first nor the newest (`mode=global`; `mode=local` looks only at the
/// `candidates` oldest evictable blocks). The cache then stays within `[C, C + B]` tokens.
/// Blocks are runs of `block` consecutive kept tokens; run with `--page-size` equal to `block`
/// so that a block is a page.
public struct PagedEviction: KVPolicy {
    public enum Score: String, Sendable { case vk, v, invk }
    public enum Mode: String, Sendable { case global, local }

    public var keep: Budget
    public var block: Int
    public var score: Score
    public var mode: Mode
    public var candidates: Int

    public init(keep: Budget, block: Int = 16, score: Score = .vk, mode: Mode = .global, candidates: Int = 4) {
        self.keep = keep
        self.block = block
        self.score = score
        self.mode = mode
        self.candidates = candidates
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        let scoreText = try a.text("score", default: "vk")
        guard let score = Score(rawValue: scoreText) else {
            throw .badValue(policy: "paged", argument: "score", value: scoreText, expected: "vk, v or invk")
        }
        let modeText = try a.text("mode", default: "global")
        guard let mode = Mode(rawValue: modeText) else {
            throw .badValue(policy: "paged", argument: "mode", value: modeText, expected: "global or local")
        }
        self.init(keep: try a.budget(), block: try a.int("block", default: 16, range: 1...65535), score: score, mode: mode,
                  candidates: try a.int("candidates", default: 4, range: 2...1_000_000))
        if mode == .global && a.given("candidates") {
            throw .argumentUnused(policy: "paged", argument: "candidates", reason: "mode=global looks at every block; add mode=local or leave it out")
        }
    }

    public var spec: PolicySpec.Stage {
        var args = [("keep", keep.description), ("block", "\(block)"), ("score", score.rawValue), ("mode", mode.rawValue)]
        if mode == .local { args.append(("candidates", "\(candidates)")) }
        return PolicySpec.stage("paged", args)
    }

    public var budget: Budget? { keep }

    public func expectedKept(available n: Int, allocated c: Int, sequence: SequenceCapture) -> ClosedRange<Int> {
        let kept = min(n, c + n % block)
        return kept...kept
    }

    /// Score of every kept token of stored head `h`.
    func tokenScores(keys: HeadTensor<Float16>, values: HeadTensor<Float16>, head source: Int, kept: [Int]) -> [Float] {
        let k = try! keys.rowNorms(head: source, tokens: kept), v = try! values.rowNorms(head: source, tokens: kept) // the plan's rows
        switch score {
        case .vk: return zip(v, k).map { $0 / max($1, 1e-6) }
        case .v: return v
        case .invk: return k.map { 1 / max($0, 1e-6) }
        }
    }

    /// Groups of stored heads decided together: all heads of the layer when they hold the same
    /// tokens, else each alone.
    func headGroups(_ heads: [CompressionPlan.Head]) -> [[Int]] {
        heads.allSatisfy({ $0.kept == heads[0].kept }) ? [Array(heads.indices)] : heads.indices.map { [$0] }
    }

    /// Token scores averaged over the heads of `group` (`scores(h)`: head `h`'s, one per kept token).
    func meanScores(_ plan: CompressionPlan, _ s: Int, _ l: Int, group: [Int], scores: (Int) -> [Float]) -> [Float] {
        var mean = [Float](repeating: 0, count: plan.heads[s][l][group[0]].kept.count)
        for h in group {
            let sc = scores(h)
            for j in mean.indices { mean[j] += sc[j] / Float(group.count) }
        }
        return mean
    }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let allocation = try plan.allocate(keep, headDim: capture.model.headDim)
        var budgets = plan.heads.map { $0.map { _ in 0 } }
        for (s, seq) in capture.sequences.enumerated() {
            for (l, layer) in seq.layers.enumerated() {
                // C, kept for decode: a token count stays what it says; shares and bytes are
                // resolved against the prompt.
                let layerBudget = plan.heads[s][l].indices.map { allocation[s][l][$0] }.min() ?? 0
                if case .tokens(let k) = keep { budgets[s][l] = k } else { budgets[s][l] = layerBudget }
                for group in headGroups(plan.heads[s][l]) {
                    let n = plan.heads[s][l][group[0]].kept.count
                    let c = group.map { allocation[s][l][$0] }.min()!
                    guard n > c else { continue }
                    guard c >= 3 * block else {
                        throw .budgetOutOfRange(policy: "paged", reason: "a budget of \(c) tokens is below three blocks of \(block) (the sink block, one middle block and the last block); raise keep or lower block")
                    }
                    let r = n % block
                    let middle = block..<(n - block - r)
                    let scores = meanScores(plan, s, l, group: group) { h in
                        tokenScores(keys: layer.keys, values: layer.values, head: plan.sourceHead(h), kept: plan.heads[s][l][h].kept)
                    }
                    let chosen = topIndices(Array(scores[middle]), count: c - 2 * block).map { $0 + block }
                    for h in group { plan.heads[s][l][h].restrict(to: Array(0..<block) + chosen + Array(middle.upperBound..<n)) }
                }
            }
        }
        plan.stageState["paged"] = budgets
    }

    public var actsAtDecode: Bool { true }

    public func decodeStep(_ plan: inout CompressionPlan, step: DecodeStep) throws(PolicyError) {
        let (s, l) = (step.sequence, step.layer)
        guard let c = plan.stageState["paged"]?[s][l], c >= 3 * block else { return }
        for group in headGroups(plan.heads[s][l]) {
            let n = plan.heads[s][l][group[0]].kept.count
            guard n > c, n % block == 0 else { continue }
            let blocks = n / block
            // Scores from the live pages' rows (the same ‖V‖/‖K‖ each token had when it arrived).
            let scores = meanScores(plan, s, l, group: group) { h in
                let r = step.rows(head: h, kept: plan.heads[s][l][h].kept)
                return tokenScores(keys: r.keys, values: r.values, head: 0, kept: Array(0..<r.keys.tokens))
            }
            let upper = mode == .global ? blocks - 1 : min(blocks - 1, 1 + candidates)
            guard upper > 1 else { continue }
            var victim = 1, lowest = Float.infinity
            for b in 1..<upper {
                let mean = scores[b * block..<(b + 1) * block].reduce(0, +) / Float(block)
                if mean < lowest { lowest = mean; victim = b } // ties: the oldest block goes
            }
            let remaining = Array(0..<(victim * block)) + Array((victim + 1) * block..<n)
            for h in group { plan.heads[s][l][h].restrict(to: remaining) }
        }
    }
}
