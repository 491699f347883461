import KVPack

/// `mustafar(k=0.5, v=0.5, recent=32)`: Mustafar (Joo et al., NeurIPS 2025, arXiv 2505.22913;
/// reference code dhjoo98/mustafar on GitHub): per-token magnitude pruning of keys and values
/// to separate sparsities, stored in the bitmap format; the most recent `recent` kept tokens of
/// each head stay dense (the paper's accuracy runs keep the last 32 dense and prune each token
/// as it leaves that window; at decode this stage does the same).
///
/// Per token and head, with `n = max(1, ⌊s·D⌋)`, the reference keeps every element with
/// `|x| ≥` the n-th smallest magnitude: `D − n + 1` elements (63 of 128 pruned at s = 0.5). This
/// stage keeps exactly `D − n + 1`, the largest magnitudes, ties at the threshold going to the
/// lower channel (the reference keeps every tied element, so its rows may hold a few more).
/// `k=0` or `v=0` leaves keys or values dense.
public struct Mustafar: KVPolicy {
    public var keySparsity: Double
    public var valueSparsity: Double
    public var recent: Int

    public init(keySparsity: Double = 0.5, valueSparsity: Double = 0.5, recent: Int = 32) {
        self.keySparsity = keySparsity
        self.valueSparsity = valueSparsity
        self.recent = recent
    }

    init(_ a: inout StageArguments) throws(PolicyError) {
        self.init(keySparsity: try a.double("k", default: 0.5, range: 0..<1),
                  valueSparsity: try a.double("v", default: 0.5, range: 0..<1),
                  recent: try a.int("recent", default: 32, range: 0...1_000_000))
    }

    public var spec: PolicySpec.Stage {
        PolicySpec.stage("mustafar", [("k", "\(keySparsity)"), ("v", "\(valueSparsity)"), ("recent", "\(recent)")])
    }

    /// The bitmap sparsity (share pruned, as `BitmapRows` reads it) that keeps `D − n + 1`
    /// elements of a row of `dim`, for the reference's `s`.
    static func layoutSparsity(_ s: Double, dim: Int) -> Double {
        let n = max(1, Int((s * Double(dim)).rounded(.down)))
        return (Double(n - 1) + 0.5) / Double(dim)
    }

    /// Elements of a row of `dim` the reference keeps at sparsity `s`.
    public static func keptElements(_ s: Double, dim: Int) -> Int { dim - max(1, Int((s * Double(dim)).rounded(.down))) + 1 }

    func prune(_ head: inout CompressionPlan.Head, upTo end: Int) {
        for i in 0..<max(0, end) {
            if keySparsity > 0 { head.keyEncodings[i] = .bitmap }
            if valueSparsity > 0 { head.valueEncodings[i] = .bitmap }
        }
    }

    public func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {
        let d = capture.model.headDim
        plan.keySparsity = Self.layoutSparsity(keySparsity, dim: d)
        plan.valueSparsity = Self.layoutSparsity(valueSparsity, dim: d)
        for s in plan.heads.indices { for l in plan.heads[s].indices { for h in plan.heads[s][l].indices {
            if plan.heads[s][l][h].kept.count <= recent && (keySparsity > 0 || valueSparsity > 0) {
                plan.warn("mustafar: recent=\(recent) covers every token of some heads, which stay dense; lower recent to prune them")
            }
            prune(&plan.heads[s][l][h], upTo: plan.heads[s][l][h].kept.count - recent)
        } } }
    }

    public var actsAtDecode: Bool { true }

    /// The token leaving the dense window is pruned.
    public func decodeStep(_ plan: inout CompressionPlan, step: DecodeStep) throws(PolicyError) {
        for h in plan.heads[step.sequence][step.layer].indices {
            prune(&plan.heads[step.sequence][step.layer][h], upTo: plan.heads[step.sequence][step.layer][h].kept.count - recent)
        }
    }
}
