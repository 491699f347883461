import Logging
import Metrics

/// The live cache's logs and metrics. Logs go to swift-log at debug and trace levels only, and
/// metrics to swift-metrics, so both stay silent unless the application bootstraps a backend
/// (`LoggingSystem.bootstrap` with a debug level, `MetricsSystem.bootstrap`).
///
/// Metrics (labels; every one has the dimension `pool`, the pool's `Configuration.name`):
/// - `kvpack_pool_bytes{encoding}`: slot bytes in use by encoding (`PoolStatistics.inUseBytesByEncoding`);
/// - `kvpack_pool_pages`, `kvpack_pool_sessions`: slots in use, open sessions;
/// - `kvpack_pool_evicted_pages_total`: pages given back by eviction or re-tiering;
/// - `kvpack_pool_rejected_total`: requests refused for want of room;
/// - `kvpack_session_compression_ratio`: a session's bytes over its dense f16 bytes, at prefill;
/// - `kvpack_attend_seconds`: time of one `attend` call (one session, one layer).
struct LiveMetrics: Sendable {
    let poolBytes: [PageEncodingKind: Gauge]
    let pages: Gauge
    let sessions: Gauge
    let evictedPages: Counter
    let rejected: Counter
    let compressionRatio: Recorder
    let attendSeconds: Metrics.Timer

    init(pool: String) {
        let d = [("pool", pool)]
        var bytes: [PageEncodingKind: Gauge] = [:]
        for kind in PageEncodingKind.allCases {
            bytes[kind] = Gauge(label: "kvpack_pool_bytes", dimensions: d + [("encoding", kind.description)])
        }
        poolBytes = bytes
        pages = Gauge(label: "kvpack_pool_pages", dimensions: d)
        sessions = Gauge(label: "kvpack_pool_sessions", dimensions: d)
        evictedPages = Counter(label: "kvpack_pool_evicted_pages_total", dimensions: d)
        rejected = Counter(label: "kvpack_pool_rejected_total", dimensions: d)
        compressionRatio = Recorder(label: "kvpack_session_compression_ratio", dimensions: d)
        attendSeconds = Metrics.Timer(label: "kvpack_attend_seconds", dimensions: d)
    }

    /// Publishes a pool's slot bytes by encoding (indexed by `PageEncodingKind.rawValue`), pages
    /// and sessions to the gauges.
    func publish(bytesByEncoding: [Int], pages: Int, sessions: Int) {
        for (kind, gauge) in poolBytes { gauge.record(bytesByEncoding[Int(kind.rawValue)]) }
        self.pages.record(pages)
        self.sessions.record(sessions)
    }

    static let poolLogger = Logger(label: "kvpack.pool")
    static let sessionLogger = Logger(label: "kvpack.session")
}
