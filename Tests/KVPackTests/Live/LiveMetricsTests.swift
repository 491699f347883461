import Metrics
import MetricsTestKit
import Testing
@testable import KVPack

@Suite("Live cache metrics")
struct LiveMetricsTests {
    /// The process's metrics backend (swift-metrics allows one bootstrap per process).
    static let backend: TestMetrics = {
        let m = TestMetrics()
        MetricsSystem.bootstrap(m)
        return m
    }()

    @Test("pool bytes by encoding, pages, sessions, evictions, rejections, compression ratio and attend latency reach the backend")
    func published() throws {
        let metrics = Self.backend
        let name = "metrics-test"
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 1)
        let seq = LiveSequence(model, tokens: 12)
        let slot = livePool().slotBytes(.f16)
        let pool = try PagePool(.init(budgetBytes: 8 * slot, headDim: 16, pageSize: 4, name: name))
        let s = try CacheSession(pool: pool, model: model, policy: ScriptedPolicy(cap: 5))
        try s.prefill(seq.prompt(0..<8))
        let d = [("pool", name)]
        #expect(try metrics.expectGauge("kvpack_pool_bytes", d + [("encoding", "f16")]).lastValue == Double(4 * slot))
        #expect(try metrics.expectGauge("kvpack_pool_pages", d).lastValue == 4)
        #expect(try metrics.expectGauge("kvpack_pool_sessions", d).lastValue == 1)
        #expect(try metrics.expectRecorder("kvpack_session_compression_ratio", d).lastValue
                == Double(s.byteCount) / Double(2 * 2 * 8 * 2 * 16))
        try s.append(layer: 0, keys: seq.keys[0].slicingTokens(8..<9), values: seq.values[0].slicingTokens(8..<9), positions: [8])
        _ = try s.attend(layer: 0, queries: seq.query(layer: 0, 8), positions: [8])
        #expect(try metrics.expectCounter("kvpack_pool_evicted_pages_total", d).totalValue > 0, "cap 5 of 9 tokens evicts a page")
        #expect(try metrics.expectTimer("kvpack_attend_seconds", d).values.count == 1)
        let other = try CacheSession(pool: pool, model: model)
        #expect(throws: SessionError.self) { try other.prefill(seq.prompt(0..<12)) }
        #expect(try metrics.expectCounter("kvpack_pool_rejected_total", d).totalValue == 1)
        s.close()
        other.close()
        #expect(try metrics.expectGauge("kvpack_pool_bytes", d + [("encoding", "f16")]).lastValue == 0)
        #expect(try metrics.expectGauge("kvpack_pool_sessions", d).lastValue == 0)
    }
}
