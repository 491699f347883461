import Foundation
import KVPack
import KVPackModel
import KVPackServer
import KVPackTestSupport
import Testing

/// `kvpack serve`'s server on a loopback port with a tiny random model: answers checked against
/// the model run directly, streaming, a client hanging up mid-stream, bad input, metrics, the
/// queue limit and graceful shutdown. Every test stops its server (the listener closes).
@Suite("Generation server")
struct ServerTests {
    /// Greedy tokens of `prompt` run through the model directly (prefill, then one forward per
    /// token), as text the way a stream joins it.
    static func greedyText(_ h: ServerHarness, prompt: String, tokens: Int) throws -> (text: String, promptTokens: Int) {
        let model = h.served.model, tokenizer = h.served.tokenizer
        let ids = try tokenizer.encode(prompt)
        let pool = try PagePool(.init(budgetBytes: 64 << 20, headDim: model.hyperparameters.headDim))
        let session = try model.makeSession(pool: pool)
        defer { session.close() }
        var logits = try model.logits(try model.prefill(ids, session: session), rows: ids.count - 1..<ids.count)
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer), text = ""
        for step in 0..<tokens {
            let next = logits.argmax(row: 0)
            text += try detokenizer.append(next)
            if step + 1 < tokens {
                let h = try model.forward([next], startingAt: ids.count + step, session: session)
                logits = try model.logits(h, rows: 0..<1)
            }
        }
        return (text + detokenizer.finish(), ids.count)
    }

    static let prompt = "the theory of the thing that the others then thought"

    @Test("completions, streamed and not, give the model's own greedy tokens; /health and /metrics answer")
    func completions() async throws {
        try await ServerHarness.with { h in
            let expected = try Self.greedyText(h, prompt: Self.prompt, tokens: 12)
            let body: [String: Any] = ["prompt": Self.prompt, "max_tokens": 12, "temperature": 0, "ignore_eos": true]
            let a = try await h.post("/v1/completions", json: body)
            #expect(a.status == 200, "\(a.text)")
            #expect(a.json.choice("text") as? String == expected.text)
            #expect(a.json.choice("finish_reason") as? String == "length")
            let usage = a.json["usage"] as? [String: Any]
            #expect(usage?["prompt_tokens"] as? Int == expected.promptTokens && usage?["completion_tokens"] as? Int == 12)
            #expect((a.json["kvpack"] as? [String: Any])?["policy"] as? String == "dense")

            var streamed = body
            streamed["stream"] = true
            let s = try await h.stream("/v1/completions", json: streamed)
            #expect(s.status == 200)
            #expect(s.events.last.map { $0 == nil } == true, "the stream ends with [DONE]")
            let objects = s.events.compactMap { $0 }
            #expect(objects.map { $0.choice("text") as? String ?? "" }.joined() == expected.text)
            #expect(objects.dropLast().allSatisfy { $0.choice("finish_reason") is NSNull })
            #expect(objects.last?.choice("finish_reason") as? String == "length")
            #expect((objects.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 12)

            let health = try await h.get("/health")
            #expect(health.status == 200 && health.json["status"] as? String == "ok")
            #expect(try await h.metric("kvpack_serve_generated_tokens_total") == 24)
            #expect(try await h.metric("kvpack_serve_prompt_tokens_total") == Double(2 * expected.promptTokens))
            #expect(try await h.metric("kvpack_serve_requests_total{endpoint=\"completions\",outcome=\"length\"}") == 2)
            #expect(try await h.metric("kvpack_serve_decode_step_seconds_count") == 22, "11 steps a request: the first token comes from the prompt")
            #expect(try await h.metric("kvpack_serve_pool_budget_bytes") == Double(8 << 20))
            #expect(try await h.metric("kvpack_serve_pool_bytes{encoding=\"f16\"}") == 0, "both sessions closed")
            #expect(try await h.metric("kvpack_serve_pool_peak_bytes").map { $0 > 0 } == true)
            #expect(try await h.metric("kvpack_serve_active_requests_peak") == 1)
        }
    }

    @Test("chat: the ChatML template, the role delta first when streaming, the system turn forked from a shared prefix")
    func chat() async throws {
        try await ServerHarness.with { h in
            let body: [String: Any] = ["messages": [["role": "user", "content": "the theory"]], "max_tokens": 6, "temperature": 0, "ignore_eos": true]
            let a = try await h.post("/v1/chat/completions", json: body)
            #expect(a.status == 200, "\(a.text)")
            let message = a.json.choice("message") as? [String: Any]
            #expect(message?["role"] as? String == "assistant" && message?["content"] is String)
            #expect(a.json["object"] as? String == "chat.completion")
            let rendered = try (try h.served.chat.get()).render([ChatMessage(role: "user", content: "the theory")])
            #expect((a.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int == rendered.tokens.count)

            var streamed = body
            streamed["stream"] = true
            let s = try await h.stream("/v1/chat/completions", json: streamed)
            let objects = s.events.compactMap { $0 }
            #expect((objects.first?.choice("delta") as? [String: Any])?["role"] as? String == "assistant")
            let content = objects.compactMap { ($0.choice("delta") as? [String: Any])?["content"] as? String }.joined()
            #expect(content == message?["content"] as? String, "the same greedy answer")
            // The second request forked the default system turn the first one compressed.
            let cache = objects.last?["kvpack"] as? [String: Any]
            #expect(cache?["shared_prefix_tokens"] as? Int == rendered.systemPrefixLength)
            #expect(try await h.metric("kvpack_serve_prefix_hits_total") == 1)
        }
    }

    @Test("a client that hangs up mid-stream has its session closed and its pages given back at once")
    func disconnect() async throws {
        try await ServerHarness.with { h in
            let (firstText, sink) = AsyncStream.makeStream(of: Void.self)
            let body = try JSONSerialization.data(withJSONObject: ["prompt": Self.prompt, "max_tokens": 1000, "temperature": 0.7, "seed": 3,
                                                                   "ignore_eos": true, "stream": true])
            let reading = Task {
                _ = try await h.stream("/v1/completions", raw: body) { event in
                    if let t = event?.choice("text") as? String, !t.isEmpty { sink.yield() }
                    return true
                }
            }
            var it = firstText.makeAsyncIterator()
            await it.next()
            #expect(h.pool.statistics.sessions == 1 && h.pool.statistics.inUseBytes > 0, "the request holds its cache")
            reading.cancel()
            _ = try? await reading.value
            let deadline = ContinuousClock.now + .seconds(10)
            while h.pool.statistics.sessions > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(h.pool.statistics.sessions == 0 && h.pool.statistics.inUseBytes == 0)
            #expect(try await h.metric("kvpack_serve_requests_total{endpoint=\"completions\",outcome=\"cancelled\"}") == 1)
            #expect(try await h.metric("kvpack_serve_generated_tokens_total").map { $0 < 1000 } == true, "it stopped generating")
            // The server goes on serving.
            let after = try await h.post("/v1/completions", json: ["prompt": "the", "max_tokens": 2, "ignore_eos": true])
            #expect(after.status == 200)
        }
    }

    @Test("bad input gets a 4xx JSON error naming the problem, and the server keeps serving")
    func badInput() async throws {
        try await ServerHarness.with(allowing: ["streaming(sinks=4,keep=0.5)"], limits: RequestLimits(maxTokens: 64, maxBodyBytes: 4096)) { h in
            let cases: [(String, Int, String, String)] = [
                ("{\"prompt\": \"x\",", 400, "malformed_json", "not valid JSON"),
                ("[1, 2]", 400, "malformed_json", "JSON object"),
                ("{\"prompt\": \"x\", \"temprature\": 0.5}", 400, "unknown_field", "'temprature'"),
                ("{\"prompt\": \"x\", \"max_tokens\": 65}", 400, "max_tokens_exceeded", "limit of 64"),
                ("{\"prompt\": \"x\", \"max_tokens\": \"8\"}", 400, "invalid_type", "'max_tokens' must be an integer"),
                ("{\"prompt\": \"x\", \"kvpack_policy\": \"quant(bits=4)\"}", 400, "policy_not_allowed", "allowed: dense; streaming"),
                ("{\"prompt\": \"x\", \"kvpack_policy\": \"snap(\"}", 400, "invalid_policy", "snap("),
                ("{\"prompt\": \"x\", \"top_p\": 0}", 400, "invalid_value", "top_p"),
                ("{\"prompt\": \"x\", \"seed\": -1}", 400, "invalid_value", "seed"),
                ("{\"max_tokens\": 4}", 400, "missing_field", "'prompt'"),
                ("{\"prompt\": \"\"}", 400, "empty_prompt", "empty"),
                ("{\"prompt\": \"\(String(repeating: "ab ", count: 1000))\"}", 400, "context_length_exceeded", "context of 2048"),
                ("{\"prompt\": \"\(String(repeating: "x", count: 5000))\"}", 413, "body_too_large", "4096 bytes"),
            ]
            for (body, status, code, words) in cases {
                let a = try await h.post("/v1/completions", raw: Data(body.utf8))
                let error = a.json["error"] as? [String: Any]
                #expect(a.status == status && error?["code"] as? String == code, "\(body.prefix(60)): \(a.status) \(a.text)")
                #expect((error?["message"] as? String)?.contains(words) == true, "\(body.prefix(60)): \(a.text)")
            }
            let chat = try await h.post("/v1/chat/completions", json: ["messages": [["role": "tool", "content": "x"]]])
            #expect(chat.status == 400 && (chat.json["error"] as? [String: Any])?["code"] as? String == "invalid_messages")
            let good = try await h.post("/v1/completions", json: ["prompt": String(repeating: "the theory ", count: 20), "max_tokens": 4,
                                                                  "kvpack_policy": "streaming(sinks=4,keep=0.5)", "ignore_eos": true])
            #expect(good.status == 200, "\(good.text)")
            let cache = good.json["kvpack"] as? [String: Any]
            #expect(cache?["policy"] as? String == "streaming(sinks=4,keep=0.5)")
            #expect((cache?["compression_ratio"] as? Double).map { $0 < 0.75 } == true, "\(good.text)")
            #expect(try await h.metric("kvpack_serve_requests_total{endpoint=\"completions\",outcome=\"bad_request\"}") == Double(cases.count))
        }
    }

    @Test("a request whose cache does not fit waits for the one decoding; one that never fits is refused")
    func admission() async throws {
        // The tiny model: 2 layers of 2 KV heads, f16 pages of 16 tokens. One request of P prompt
        // tokens and M new ones takes ceil(P/16) pages a head at once, and reserves ceil(M/16) + 1
        // more for its generation.
        let prompt = String(repeating: "the theory ", count: 12), maxTokens = 24
        let probe = try PagePool(.init(budgetBytes: 1 << 20, headDim: 16))
        let p = try ServerHarness.tokens(prompt)
        let one = 4 * probe.slotBytes(.f16) * ((p + 15) / 16 + (maxTokens + 15) / 16 + 1)
        try await ServerHarness.with(poolBytes: one * 3 / 2) { h in
            let body = try JSONSerialization.data(withJSONObject: ["prompt": prompt, "max_tokens": maxTokens, "temperature": 0, "ignore_eos": true])
            async let a = h.post("/v1/completions", raw: body)
            async let b = h.post("/v1/completions", raw: body)
            let (ra, rb) = try await (a, b)
            #expect(ra.status == 200 && rb.status == 200, "\(ra.text) \(rb.text)")
            #expect(ra.json.choice("text") as? String == rb.json.choice("text") as? String)
            #expect(try await h.metric("kvpack_serve_active_requests_peak") == 1, "the second waited for the first")
            #expect(try await h.metric("kvpack_serve_pool_peak_bytes").map { $0 <= Double(one * 3 / 2) } == true)

            let long = try await h.post("/v1/completions", json: ["prompt": String(repeating: "the theory ", count: 60), "max_tokens": 8])
            #expect(long.status == 400 && (long.json["error"] as? [String: Any])?["code"] as? String == "cache_does_not_fit", "\(long.text)")
            let after = try await h.post("/v1/completions", json: ["prompt": "the", "max_tokens": 2])
            #expect(after.status == 200)
        }
    }

    @Test("a full queue answers 429 with Retry-After")
    func queueFull() async throws {
        try await ServerHarness.with(settings: SchedulerSettings(maxQueue: 0, retryAfterSeconds: 2)) { h in
            let a = try await h.post("/v1/completions", json: ["prompt": "the", "max_tokens": 2])
            #expect(a.status == 429 && a.headers["retry-after"] == "2")
            #expect((a.json["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
        }
    }

    @Test("graceful shutdown: the request in flight finishes, a new one gets 503")
    func gracefulShutdown() async throws {
        try await ServerHarness.with { h in
            let (firstText, sink) = AsyncStream.makeStream(of: Void.self)
            let body = try JSONSerialization.data(withJSONObject: ["prompt": Self.prompt, "max_tokens": 1000, "temperature": 0, "ignore_eos": true,
                                                                   "stream": true])
            let inFlight = Task { () -> (finish: String?, tokens: Int?) in
                let events = try await h.stream("/v1/completions", raw: body) { event in
                    if event?.choice("text") != nil { sink.yield() }
                    return true
                }.events
                let last = events.compactMap { $0 }.last
                return (last?.choice("finish_reason") as? String, (last?["usage"] as? [String: Any])?["completion_tokens"] as? Int)
            }
            var it = firstText.makeAsyncIterator()
            await it.next()
            await h.group.triggerGracefulShutdown()
            var refused: ServerHarness.Answer?
            for _ in 0..<50 where refused == nil {
                let a = try await h.post("/v1/completions", json: ["prompt": "the", "max_tokens": 2])
                if a.status == 503 { refused = a } else { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(refused?.status == 503 && refused?.headers["retry-after"] != nil)
            let finished = try await inFlight.value
            #expect(finished.finish == "length" && finished.tokens == 1000)
        }
    }
}
