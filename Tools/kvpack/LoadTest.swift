import ArgumentParser
import AsyncHTTPClient
import Foundation
import KVPackServer
import NIOCore
import Synchronization

struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load a running `kvpack serve` with concurrent streaming clients and report throughput and latencies.",
        discussion: """
            --clients tasks each send streaming /v1/completions requests one after another (greedy, ignore_eos, so every request generates --max-tokens tokens) until --requests were sent or --duration passed. Each prompt is --prompt-words words of --text from its own offset. Reports requests/s, generated tokens/s, time to first token and inter-token latency (p50, p99), and from the server's /metrics (sampled during the run): the most requests decoding at once, the pool's peak bytes, the compression ratio. A 429 is counted and retried after its Retry-After.
              kvpack loadtest --url http://127.0.0.1:8080 --clients 16 --requests 64 --duration 300 --max-tokens 64
            """)

    @Option(help: "The server's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "Concurrent clients.") var clients = 8
    @Option(help: "Requests to send in all.") var requests = 32
    @Option(help: "Stop sending new requests after this many seconds.") var duration: Double = 300
    @Option(name: .customLong("max-tokens"), help: "Tokens each request generates.") var maxTokens = 64
    @Option(name: .customLong("prompt-words"), help: "Words of --text per prompt.") var promptWords = 1200
    @Option(help: "The text prompts are cut from.") var text = "/usr/share/common-licenses/GPL-3"
    @Option(help: "kvpack_policy of every request (default: the server's).") var policy: String?
    @Option(help: "A label for the report (default: the policy, or the server's).") var label: String?
    @Option(help: "Write the report as JSON to this file.") var out: String?
    @Option(name: .customLong("metrics-out"), help: "Write the server's /metrics at the end to this file.") var metricsOut: String?

    func validate() throws {
        for (name, v) in [("--clients", clients), ("--requests", requests), ("--max-tokens", maxTokens), ("--prompt-words", promptWords)] where v <= 0 {
            throw ValidationError("\(name) must be positive; got \(v)")
        }
        if !(duration > 0) { throw ValidationError("--duration must be positive seconds") }
        guard let u = URL(string: url), u.scheme == "http", u.host != nil else { throw ValidationError("--url must be http://host:port; got \(url)") }
    }

    func run() async throws {
        let words: [Substring]
        do { words = try String(contentsOfFile: text, encoding: .utf8).split(whereSeparator: \.isWhitespace) } catch {
            throw ValidationError("cannot read --text \(text): \(error.localizedDescription)")
        }
        guard words.count > promptWords else { throw ValidationError("--text has \(words.count) words; --prompt-words needs more") }
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients + 4)
        config.timeout = .init(connect: .seconds(10), read: .seconds(900))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        _ = try await ServerMetricsText.fetch(client, base: base)  // the server answers before the clients start
        let plan = LoadPlan(words: words, promptWords: promptWords, maxTokens: maxTokens, policy: policy, total: requests,
                            deadline: .now + .seconds(duration))
        let sampler = Task { try await MetricsSampler.run(client, base: base) }
        let started = ContinuousClock.now
        let samples = try await withThrowingTaskGroup(of: [RequestSample].self) { group in
            for _ in 0..<clients {
                group.addTask { try await plan.runClient(client, base: base) }
            }
            var all: [RequestSample] = []
            for try await s in group { all += s }
            return all
        }
        let wall = (ContinuousClock.now - started).seconds
        sampler.cancel()
        let sampled = (try? await sampler.value) ?? MetricsSampler.Peaks()
        let after = try await ServerMetricsText.fetch(client, base: base)
        if let metricsOut { try after.text.write(toFile: metricsOut, atomically: true, encoding: .utf8) }
        try await client.shutdown()
        let report = LoadReport(label: label ?? policy ?? "server default", clients: clients, maxTokens: maxTokens,
                                promptWords: promptWords, wallSeconds: wall, samples: samples, sampled: sampled, after: after)
        print(report.table)
        if let out { try report.json().write(to: URL(fileURLWithPath: out)) }
        if report.completed == 0 { throw ExitCode(1) }
    }
}

/// Which prompt each request sends, and how many are left.
final class LoadPlan: Sendable {
    let words: [Substring]
    let promptWords: Int
    let maxTokens: Int
    let policy: String?
    let total: Int
    let deadline: ContinuousClock.Instant
    private let issued = Mutex(0)

    init(words: [Substring], promptWords: Int, maxTokens: Int, policy: String?, total: Int, deadline: ContinuousClock.Instant) {
        self.words = words
        self.promptWords = promptWords
        self.maxTokens = maxTokens
        self.policy = policy
        self.total = total
        self.deadline = deadline
    }

    /// The next request's number, nil when all were sent or time is up.
    func next() -> Int? {
        guard ContinuousClock.now < deadline else { return nil }
        return issued.withLock { n -> Int? in
            guard n < total else { return nil }
            n += 1
            return n - 1
        }
    }

    func body(_ k: Int) -> Data {
        let start = (k * 211) % (words.count - promptWords)
        var o: [String: Any] = ["prompt": words[start..<start + promptWords].joined(separator: " "), "max_tokens": maxTokens,
                                "temperature": 0, "stream": true, "ignore_eos": true]
        if let policy { o["kvpack_policy"] = policy }
        return try! JSONSerialization.data(withJSONObject: o)
    }

    /// One client: requests one after another until the plan runs out.
    func runClient(_ client: HTTPClient, base: String) async throws -> [RequestSample] {
        var out: [RequestSample] = []
        while let k = next() {
            while true {
                let s = await RequestSample.measure(client, url: base + "/v1/completions", body: body(k))
                if s.status == 429 {
                    out.append(s)
                    try await Task.sleep(for: .seconds(s.retryAfter ?? 1))
                    continue
                }
                out.append(s)
                break
            }
        }
        return out
    }
}

/// One request's timings.
struct RequestSample: Sendable {
    var status: Int
    var error: String?
    var retryAfter: Int?
    var timeToFirstToken: Double?
    /// Seconds between consecutive text events.
    var gaps: [Double] = []
    var promptTokens = 0
    var completionTokens = 0
    var cacheBytes = 0
    var denseBytes = 0
    var seconds: Double = 0

    var ok: Bool { status == 200 && error == nil && completionTokens > 0 }

    static func measure(_ client: HTTPClient, url: String, body: Data) async -> RequestSample {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let start = ContinuousClock.now
        var s = RequestSample(status: 0)
        do {
            let response = try await client.execute(request, timeout: .seconds(900))
            s.status = Int(response.status.code)
            s.retryAfter = response.headers.first(name: "retry-after").flatMap { Int($0) }
            var reader = ServerSentEventReader(), last: ContinuousClock.Instant?
            for try await buffer in response.body {
                for payload in reader.feed(String(buffer: buffer)) where payload != "[DONE]" {
                    guard let o = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { continue }
                    if let e = o["error"] as? [String: Any] { s.error = e["message"] as? String ?? "error" }
                    if let u = o["usage"] as? [String: Any] {
                        s.promptTokens = u["prompt_tokens"] as? Int ?? 0
                        s.completionTokens = u["completion_tokens"] as? Int ?? 0
                    }
                    if let k = o["kvpack"] as? [String: Any] {
                        s.cacheBytes = k["cache_bytes"] as? Int ?? 0
                        s.denseBytes = k["dense_bytes"] as? Int ?? 0
                    }
                    let text = ((o["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
                    guard !text.isEmpty else { continue }
                    let now = ContinuousClock.now
                    if let last { s.gaps.append((now - last).seconds) } else { s.timeToFirstToken = (now - start).seconds }
                    last = now
                }
            }
            if s.status != 200, s.error == nil { s.error = "HTTP \(s.status): \(reader.remainder.prefix(200))" }
        } catch {
            s.error = "\(error)"
        }
        s.seconds = (ContinuousClock.now - start).seconds
        return s
    }
}
