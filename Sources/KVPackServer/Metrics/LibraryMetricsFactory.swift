import Prometheus

extension ServeMetrics {
    /// A swift-metrics backend writing to `registry` with histogram buckets that suit the
    /// library's own metrics: `kvpack_session_compression_ratio` (a session's bytes over dense
    /// f16, 0.05 ... 1.2) and `kvpack_attend_seconds` (one session's attend of one layer, 10 µs ...
    /// 100 ms). The factory's defaults (5 ms ... 10 s, and values from 5 up) put every such sample
    /// in the first bucket. Bootstrap it with `MetricsSystem.bootstrap`.
    public static func libraryMetricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["kvpack_session_compression_ratio"] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2]
        factory.durationHistogramBuckets["kvpack_attend_seconds"] = [
            .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
        ]
        return factory
    }
}
