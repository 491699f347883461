import KVPack
import Prometheus
import Synchronization

/// The server's metrics in a Prometheus registry (what `GET /metrics` emits): requests, tokens,
/// the decode steps, and, read at each scrape, the page pool and the live sessions.
///
/// - `kvpack_serve_requests_total{endpoint, outcome}`: finished requests by outcome (`stop`,
///   `length`, `cancelled`, `failed`, `rejected` (429), `unavailable` (503), `bad_request`);
/// - `kvpack_serve_prompt_tokens_total`, `kvpack_serve_generated_tokens_total`;
/// - `kvpack_serve_decode_step_seconds` (histogram), `kvpack_serve_decode_batch_size` (last step),
///   `kvpack_serve_prefill_chunk_seconds`, `kvpack_serve_time_to_first_token_seconds`;
/// - `kvpack_serve_active_requests`, `kvpack_serve_active_requests_peak` (the most decoding at
///   once), `kvpack_serve_queued_requests`, `kvpack_serve_prefix_hits_total`;
/// - `kvpack_serve_pool_bytes{encoding}`, `kvpack_serve_pool_in_use_bytes`,
///   `kvpack_serve_pool_peak_bytes`, `kvpack_serve_pool_budget_bytes`, `kvpack_serve_pool_sessions`,
///   `kvpack_serve_pool_evicted_pages_total`;
/// - `kvpack_serve_cache_bytes` and `kvpack_serve_cache_dense_bytes` (the active sessions' bytes
///   and what dense f16 caches of their tokens would take), `kvpack_serve_compression_ratio`
///   (their quotient), `kvpack_serve_request_compression_ratio` (histogram, per finished request).
public final class ServeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let promptTokens: Counter
    let generatedTokens: Counter
    let decodeStep: DurationHistogram
    let prefillChunk: DurationHistogram
    let timeToFirstToken: DurationHistogram
    let requestRatio: ValueHistogram
    let batchSize: Gauge
    let activeRequests: Gauge
    let activePeak: Gauge
    let queued: Gauge
    let prefixHits: Counter
    private let evictedPublished = Mutex<Int>(0)

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        promptTokens = registry.makeCounter(descriptor: Self.name("prompt_tokens", "total", "Prompt tokens of admitted requests"))
        generatedTokens = registry.makeCounter(descriptor: Self.name("generated_tokens", "total", "Tokens generated"))
        let steps: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                 .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)]
        decodeStep = registry.makeDurationHistogram(descriptor: Self.name("decode_step", "seconds", "Time of one batched decode step (every active request, every layer)"), buckets: steps)
        prefillChunk = registry.makeDurationHistogram(descriptor: Self.name("prefill_chunk", "seconds", "Time of one prompt chunk (or a compression at the prompt's end)"), buckets: steps)
        timeToFirstToken = registry.makeDurationHistogram(
            descriptor: Self.name("time_to_first_token", "seconds", "From the request's arrival to its first token"),
            buckets: [.milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
                      .seconds(5), .seconds(10), .seconds(30), .seconds(60)])
        requestRatio = registry.makeValueHistogram(
            descriptor: Self.name("request_compression_ratio", "", "A finished request's cache bytes over its dense f16 bytes"),
            buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2])
        batchSize = registry.makeGauge(descriptor: Self.name("decode_batch_size", "", "Requests in the last decode step"))
        activeRequests = registry.makeGauge(descriptor: Self.name("active_requests", "", "Requests holding a cache and decoding"))
        activePeak = registry.makeGauge(descriptor: Self.name("active_requests_peak", "", "The most requests decoding at once"))
        queued = registry.makeGauge(descriptor: Self.name("queued_requests", "", "Requests waiting for their prompt to run"))
        prefixHits = registry.makeCounter(descriptor: Self.name("prefix_hits", "total", "Requests that forked a cached prompt prefix"))
    }

    /// `kvpack_serve_<metric>_<unit>`.
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "kvpack", subsystem: "serve", metricName: metric, unitName: unit, helpText: help)
    }

    /// Counts a finished request.
    func request(endpoint: String, outcome: String) {
        registry.makeCounter(descriptor: Self.name("requests", "total", "Requests by endpoint and outcome"), labels: [("endpoint", endpoint), ("outcome", outcome)]).increment()
    }

    /// Sets the gauges read at a scrape: the pool's statistics and the live sessions' bytes.
    func publish(_ s: SchedulerSnapshot) {
        let p = s.pool
        for kind in PageEncodingKind.allCases {
            registry.makeGauge(descriptor: Self.name("pool", "bytes", "Page-pool slot bytes in use by encoding"), labels: [("encoding", kind.description)]).set(Double(p.inUseBytesByEncoding[kind] ?? 0))
        }
        registry.makeGauge(descriptor: Self.name("pool_in_use", "bytes", "Page-pool slot bytes in use")).set(Double(p.inUseBytes))
        registry.makeGauge(descriptor: Self.name("pool_peak", "bytes", "The most page-pool bytes in use at once")).set(Double(p.peakInUseBytes))
        registry.makeGauge(descriptor: Self.name("pool_budget", "bytes", "The page pool's byte budget")).set(Double(p.budgetBytes))
        registry.makeGauge(descriptor: Self.name("pool_sessions", "", "Sessions open on the pool (requests and cached prefixes)"))
            .set(Double(p.sessions))
        let delta = evictedPublished.withLock { last -> Int in
            defer { last = max(last, p.evictedPages) }
            return max(0, p.evictedPages - last)
        }
        registry.makeCounter(descriptor: Self.name("pool_evicted_pages", "total", "Pages given back by eviction or re-tiering"))
            .increment(by: Int64(delta))
        registry.makeGauge(descriptor: Self.name("cache", "bytes", "Cache bytes of the active requests' sessions")).set(Double(s.cacheBytes))
        registry.makeGauge(descriptor: Self.name("cache_dense", "bytes", "Bytes dense f16 caches of the active requests' tokens would take"))
            .set(Double(s.denseBytes))
        registry.makeGauge(descriptor: Self.name("compression_ratio", "", "Active requests' cache bytes over their dense f16 bytes"))
            .set(s.denseBytes > 0 ? Double(s.cacheBytes) / Double(s.denseBytes) : 0)
        activeRequests.set(Double(s.active))
        activePeak.set(Double(s.peakActive))
        queued.set(Double(s.queued))
    }
}

/// The scheduler's state at one moment (for `/metrics` and `/health`).
public struct SchedulerSnapshot: Sendable {
    public var active: Int
    public var queued: Int
    public var peakActive: Int
    /// Σ `CacheSession.byteCount` of the active requests.
    public var cacheBytes: Int
    /// Σ `CacheSession.denseByteCount` of the active requests.
    public var denseBytes: Int
    public var pool: PoolStatistics
    public var draining: Bool
}
