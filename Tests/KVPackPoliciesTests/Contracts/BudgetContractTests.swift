import KVPack
import Testing
@testable import KVPackPolicies

/// A budget is what the user pays in memory: no policy keeps more than it allows, at a share, a
/// token count or a byte size, and a budget below the prompt really evicts.
@Suite("Policy contracts: budgets are honoured")
struct BudgetContractTests {
    /// The budgets, and the tokens per head each allows on the contract capture (96 tokens a head).
    /// Bytes, worked by hand from the layout: a head of 60 f16 tokens (head dim 32, pages of 16)
    /// takes 8 (directory entry) + 4 · 32 (page-table entries) + 60 · 4 (positions) + 2 · 60 · 32 · 2
    /// (keys and values) = 8056 bytes; 2 layers of 2 heads: 32224. One more token a head needs a
    /// fifth page for every head, so 60 is the most.
    static let budgets: [(keep: String, perHead: Int)] = [("0.5", 48), ("56", 56), ("32224B", 60)]

    @Test("no layer keeps more tokens than the budget allows its heads, and every head keeps one",
          arguments: PolicyRegistry.names, budgets.indices)
    func budgetHonoured(name: String, budget: Int) throws {
        let (keep, perHead) = Self.budgets[budget]
        let pipeline = try PolicyPipeline(parsing: PolicyContracts.spec(name, keep: keep))
        let capture = try PolicyContracts.capture()
        let cache = try pipeline.compress(capture)
        let kept = PolicyContracts.kept(cache)
        let n = PolicyContracts.tokens, heads = PolicyContracts.kvHeads
        guard pipeline.stages.contains(where: { $0.budget != nil }) else {
            #expect(kept.allSatisfy { $0.allSatisfy { $0 == Array(0..<n) } }, "\(pipeline): a stage without a budget evicted")
            return
        }
        for (l, layer) in kept.enumerated() {
            let total = layer.reduce(0) { $0 + $1.count }
            #expect(total <= heads * perHead, "\(pipeline): layer \(l) keeps \(total) tokens; the budget allows \(heads * perHead)")
            #expect(layer.allSatisfy { !$0.isEmpty }, "\(pipeline): layer \(l) has an empty head")
        }
        if keep.hasSuffix("B") {
            // A byte budget counts the kept tokens as f16 pages of 16 (Budget.bytes); the cache
            // itself fits when it is f16. (ARKV's mixed tiers split pages where the encoding
            // changes, so its real bytes may pass the budget by page-table entries.)
            let d = PolicyContracts.d
            let f16Bytes = kept.joined().reduce(0) { $0 + 8 + ($1.count + 15) / 16 * 32 + 4 * $1.count + 4 * d * $1.count }
            #expect(f16Bytes <= 32224, "\(pipeline): its tokens take \(f16Bytes) bytes as f16 pages, over a budget of 32224")
            if PolicyContracts.encodings(cache).joined().joined().allSatisfy({ $0 == .init(.f16, .f16) }) {
                #expect(cache.byteCount <= 32224, "\(pipeline): \(cache.byteCount) bytes over a budget of 32224")
            }
        }
    }
}
