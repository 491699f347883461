import AsyncHTTPClient
import Foundation
import NIOCore

/// The server's `/metrics` text and the values the load test reads from it.
struct ServerMetricsText: Sendable {
    var text: String

    static func fetch(_ client: HTTPClient, base: String) async throws -> ServerMetricsText {
        let response = try await client.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else { throw LoadTestError(description: "GET \(base)/metrics answered \(response.status)") }
        return ServerMetricsText(text: String(buffer: body))
    }

    /// The value of the sample line `name` (with its labels, if any, exactly as written).
    func value(_ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

struct LoadTestError: Error, CustomStringConvertible {
    let description: String
}

/// `/metrics` read every quarter second during the run: the maxima.
enum MetricsSampler {
    struct Peaks: Sendable, Codable {
        var activeRequests: Double = 0
        var cacheBytes: Double = 0
        var denseBytes: Double = 0
        var poolInUseBytes: Double = 0
        var compressionRatio: Double?
    }

    static func run(_ client: HTTPClient, base: String) async throws -> Peaks {
        var p = Peaks()
        while !Task.isCancelled {
            if let m = try? await ServerMetricsText.fetch(client, base: base) {
                let active = m.value("kvpack_serve_active_requests") ?? 0
                if active >= p.activeRequests {
                    p.activeRequests = active
                    let cache = m.value("kvpack_serve_cache_bytes") ?? 0, dense = m.value("kvpack_serve_cache_dense_bytes") ?? 0
                    if cache > p.cacheBytes {
                        p.cacheBytes = cache
                        p.denseBytes = dense
                        p.compressionRatio = dense > 0 ? cache / dense : nil
                    }
                }
                p.poolInUseBytes = max(p.poolInUseBytes, m.value("kvpack_serve_pool_in_use_bytes") ?? 0)
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return p
    }
}

/// What a load test measured.
struct LoadReport: Codable {
    var label: String
    var clients: Int
    var maxTokens: Int
    var promptWords: Int
    var wallSeconds: Double
    var completed: Int
    var failed: Int
    var rejected: Int
    var meanPromptTokens: Double
    var requestsPerSecond: Double
    var generatedTokensPerSecond: Double
    var timeToFirstToken: Percentiles
    var interTokenLatency: Percentiles
    /// `kvpack_serve_active_requests_peak` at the end: the most requests decoding at once.
    var maxConcurrentAdmitted: Double?
    var poolPeakBytes: Double?
    var poolBudgetBytes: Double?
    var meanRequestCompressionRatio: Double?
    var sampled: MetricsSampler.Peaks
    var errors: [String]

    struct Percentiles: Codable {
        var p50: Double?
        var p99: Double?

        init(_ values: [Double]) {
            let v = values.sorted()
            func at(_ q: Double) -> Double? { v.isEmpty ? nil : v[min(v.count - 1, Int((q * Double(v.count)).rounded(.up)) - 1)] }
            p50 = at(0.5)
            p99 = at(0.99)
        }
    }

    init(label: String, clients: Int, maxTokens: Int, promptWords: Int, wallSeconds: Double, samples: [RequestSample],
         sampled: MetricsSampler.Peaks, after: ServerMetricsText) {
        self.label = label
        self.clients = clients
        self.maxTokens = maxTokens
        self.promptWords = promptWords
        self.wallSeconds = wallSeconds
        let ok = samples.filter(\.ok)
        completed = ok.count
        rejected = samples.filter { $0.status == 429 }.count
        failed = samples.count - ok.count - rejected
        meanPromptTokens = ok.isEmpty ? 0 : Double(ok.reduce(0) { $0 + $1.promptTokens }) / Double(ok.count)
        requestsPerSecond = Double(ok.count) / wallSeconds
        generatedTokensPerSecond = Double(ok.reduce(0) { $0 + $1.completionTokens }) / wallSeconds
        timeToFirstToken = Percentiles(ok.compactMap(\.timeToFirstToken))
        interTokenLatency = Percentiles(ok.flatMap(\.gaps))
        maxConcurrentAdmitted = after.value("kvpack_serve_active_requests_peak")
        poolPeakBytes = after.value("kvpack_serve_pool_peak_bytes")
        poolBudgetBytes = after.value("kvpack_serve_pool_budget_bytes")
        let ratios = ok.filter { $0.denseBytes > 0 }.map { Double($0.cacheBytes) / Double($0.denseBytes) }
        meanRequestCompressionRatio = ratios.isEmpty ? nil : ratios.reduce(0, +) / Double(ratios.count)
        self.sampled = sampled
        errors = Array(Set(samples.compactMap(\.error))).sorted().prefix(5).map { $0 }
    }

    var table: String {
        func f(_ x: Double?, _ digits: Int = 3) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "-" }
        func mib(_ x: Double?) -> String { x.map { String(format: "%.1f MiB", $0 / 1_048_576) } ?? "-" }
        var s = """
            load test: \(label), \(clients) clients, \(maxTokens) tokens per request, prompts of \(promptWords) words (\(f(meanPromptTokens, 0)) tokens)
              requests: \(completed) completed, \(failed) failed, \(rejected) rejected (429) in \(f(wallSeconds, 1)) s
              requests/s \(f(requestsPerSecond)), generated tokens/s \(f(generatedTokensPerSecond, 1))
              time to first token p50 \(f(timeToFirstToken.p50)) s, p99 \(f(timeToFirstToken.p99)) s
              inter-token latency p50 \(f(interTokenLatency.p50)) s, p99 \(f(interTokenLatency.p99)) s
              most requests decoding at once \(f(maxConcurrentAdmitted, 0)); pool peak \(mib(poolPeakBytes)) of \(mib(poolBudgetBytes)); request cache / dense \(f(meanRequestCompressionRatio))

            """
        for e in errors { s += "  error: \(e)\n" }
        return s
    }

    func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}
