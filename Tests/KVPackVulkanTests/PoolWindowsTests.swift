import KVPack
import Testing
@testable import KVPackVulkan

/// The window plan alone (no device): cuts at head boundaries, every page inside its head's window.
@Suite("Pool windows")
struct PoolWindowsTests {
    func flat(heads: Int = 6, tokens: Int = 37, encodings: (PageEncoding, PageEncoding) = (.f16, .int8(.init(groupSize: 32)))) throws -> FlatCache {
        try DecodeFixture(qHeads: heads, kvHeads: heads, d: 64, tokens: tokens, sequences: 1) { _, h in
            (Array(0..<(tokens - h)), Array(repeating: encodings, count: tokens - h))
        }.cache.flattened()
    }

    @Test("a cache within the limit is one window of each pool")
    func oneWindow() throws {
        let f = try flat()
        let plan = try PoolWindows.plan(f, limit: f.pools.map(\.count).max()!)
        #expect(plan.count == 1 && plan.headWindow.allSatisfy { $0 == 0 })
        #expect(plan.ranges == f.pools.map { [0..<$0.count] })
    }

    @Test("windows cover each pool exactly, in order; each head's pages lie in its window; none over the limit",
          arguments: [2, 3, 5])
    func split(headsPerWindow: Int) throws {
        let f = try flat()
        // Keys are f16 (the larger pool): at most 37 rows x 64 halves a head.
        let headBytes = 37 * 64 * 2
        let limit = headsPerWindow * headBytes
        let plan = try PoolWindows.plan(f, limit: limit)
        let f16 = f.pools[0].count
        #expect(plan.count >= (f16 + limit - 1) / limit && plan.count <= 6 && plan.count > 1)
        for (k, pool) in f.pools.enumerated() {
            let r = plan.ranges[k]
            #expect(r.first?.lowerBound == 0 && r.last?.upperBound == pool.count)
            #expect(zip(r, r.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(r.allSatisfy { $0.count <= limit })
        }
        #expect(zip(plan.headWindow, plan.headWindow.dropFirst()).allSatisfy { $0 <= $1 })
        for (h, head) in f.heads.enumerated() {
            let w = Int(plan.headWindow[h])
            for p in f.pages[Int(head.firstPage)..<Int(head.firstPage + head.pageCount)] {
                #expect(plan.ranges[Int(p.keyEncoding.kind.rawValue)][w].contains(Int(p.keyOffset)))
                #expect(plan.ranges[Int(p.valueEncoding.kind.rawValue)][w].contains(Int(p.valueOffset)))
            }
        }
    }

    @Test("a head larger than the limit, or more than six windows, is a typed error")
    func refused() throws {
        let f = try flat()
        let head = Result { () throws(VulkanError) in try PoolWindows.plan(f, limit: 1000) }
        guard case .failure(.tooLarge(let what, _, 1000, _)) = head else { Issue.record("\(head)"); return }
        #expect(what.hasPrefix("one head's"))
        let many = try flat(heads: 10, tokens: 16)
        // 10 heads of 16, 15, ..., 7 rows and windows of one 16-row f16 head: 9 windows (the last two heads share one).
        let r = Result { () throws(VulkanError) in try PoolWindows.plan(many, limit: 16 * 64 * 2) }
        guard case .failure(.tooLarge(let what2, _, _, let name)) = r else { Issue.record("\(r)"); return }
        #expect(what2 == "the f16 pool (9 buffers of whole heads)" && name.contains("6 buffers"))
    }
}
