import Foundation
import Prometheus
import Testing
@testable import KVPackServer

@Suite("The library's metrics in the server's registry")
struct LibraryMetricsFactoryTests {
    func exposition(_ registry: PrometheusCollectorRegistry) -> [String] {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("a session's compression ratio lands in ratio buckets (0.25: above 0.2, within 0.3), not all in the first")
    func compressionRatioBuckets() {
        let registry = PrometheusCollectorRegistry()
        let factory = ServeMetrics.libraryMetricsFactory(registry: registry)
        factory.makeRecorder(label: "kvpack_session_compression_ratio", dimensions: [("pool", "p")], aggregate: true).record(0.25)
        let lines = exposition(registry)
        #expect(lines.contains("kvpack_session_compression_ratio_bucket{pool=\"p\",le=\"0.2\"} 0"), "\(lines)")
        #expect(lines.contains("kvpack_session_compression_ratio_bucket{pool=\"p\",le=\"0.3\"} 1"), "\(lines)")
    }

    @Test("an attend of 30 µs lands in microsecond buckets: 12 bounds and +Inf, the first (10 µs) empty")
    func attendBuckets() {
        let registry = PrometheusCollectorRegistry()
        let factory = ServeMetrics.libraryMetricsFactory(registry: registry)
        factory.makeTimer(label: "kvpack_attend_seconds", dimensions: [("pool", "p")]).recordNanoseconds(30_000)
        let buckets = exposition(registry).filter { $0.hasPrefix("kvpack_attend_seconds_bucket") }
        #expect(buckets.count == 13, "\(buckets)")
        #expect(buckets.first?.hasSuffix(" 0") == true, "\(buckets)")
        #expect(buckets.last?.hasSuffix(" 1") == true, "\(buckets)")
    }
}
