import AsyncHTTPClient
import Foundation
import KVPack
import KVPackModel
import KVPackServer
import KVPackTestSupport
import Logging
import NIOCore
import ServiceLifecycle

/// A `GenerationServer` on a loopback port chosen by the system, over the tiny random model, and
/// an HTTP client for it. `stop()` shuts both down (the listener closes: no port stays open).
final class ServerHarness: Sendable {
    let server: GenerationServer
    let pool: PagePool
    let served: ServedModel
    let group: ServiceGroup
    let running: Task<Void, any Error>
    let port: Int
    let client: HTTPClient
    var base: String { "http://127.0.0.1:\(port)" }

    /// The tiny model's file, written once per test process.
    static let modelPath = Result { try TinyModelFile.write() }

    init(policy: String = "dense", allowing: [String] = [], poolBytes: Int = 8 << 20, settings: SchedulerSettings = SchedulerSettings(),
         limits: RequestLimits = RequestLimits()) async throws {
        let file = try GGUFFile(contentsOf: try Self.modelPath.get())
        served = try ServedModel(file: file, name: "tiny")
        pool = try PagePool(.init(budgetBytes: poolBytes, headDim: served.model.hyperparameters.headDim, name: "test"))
        server = try GenerationServer(model: served, pool: pool, policies: try PolicyCatalog(default: policy, allowing: allowing),
                                      limits: limits, settings: settings)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "kvpack.serve.test")
        logger.logLevel = .error
        group = server.serviceGroup(host: "127.0.0.1", port: 0, logger: logger) { port in
            portSink.yield(port)
            portSink.finish()
        }
        let group = group
        running = Task { try await group.run() }
        var it = ports.makeAsyncIterator()
        guard let p = await it.next() else { throw HarnessError(description: "the server did not start") }
        port = p
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(5), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: config)
    }

    /// Runs `body` against a new server and stops it afterwards, whether `body` throws or not.
    static func with(policy: String = "dense", allowing: [String] = [], poolBytes: Int = 8 << 20, settings: SchedulerSettings = SchedulerSettings(),
                     limits: RequestLimits = RequestLimits(), _ body: (ServerHarness) async throws -> Void) async throws {
        let h = try await ServerHarness(policy: policy, allowing: allowing, poolBytes: poolBytes, settings: settings, limits: limits)
        do {
            try await body(h)
        } catch {
            try? await h.stop()
            throw error
        }
        try await h.stop()
    }

    /// The tiny model's token count of `text`.
    static func tokens(_ text: String) throws -> Int {
        try GGUFFile(contentsOf: try modelPath.get()).tokenizer().encode(text).count
    }

    /// Graceful shutdown, then the client.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
        try await client.shutdown()
    }

    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func get(_ path: String) async throws -> Answer {
        try await send(HTTPClientRequest(url: base + path))
    }

    func post(_ path: String, json: [String: Any]) async throws -> Answer {
        try await post(path, raw: try JSONSerialization.data(withJSONObject: json))
    }

    func post(_ path: String, raw: Data) async throws -> Answer {
        try await send(Self.request(base + path, raw))
    }

    static func request(_ url: String, _ body: Data) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: url)
        r.method = .POST
        r.headers.add(name: "content-type", value: "application/json")
        r.body = .bytes(ByteBuffer(bytes: body))
        return r
    }

    private func send(_ r: HTTPClientRequest) async throws -> Answer {
        let response = try await client.execute(r, timeout: .seconds(300))
        let body = try await response.body.collect(upTo: 16 << 20)
        var headers: [String: String] = [:]
        for h in response.headers { headers[h.name.lowercased()] = h.value }
        return Answer(status: Int(response.status.code), headers: headers, body: Data(buffer: body))
    }

    /// A streaming request: its server-sent events' JSON objects in order (`[DONE]` as nil),
    /// `onEvent` told of each; it may return false to stop reading (the client hangs up).
    func stream(_ path: String, json: [String: Any], onEvent: ([String: Any]?) -> Bool = { _ in true }) async throws -> (status: Int, events: [[String: Any]?]) {
        try await stream(path, raw: try JSONSerialization.data(withJSONObject: json), onEvent: onEvent)
    }

    func stream(_ path: String, raw: Data, onEvent: ([String: Any]?) -> Bool = { _ in true }) async throws -> (status: Int, events: [[String: Any]?]) {
        let response = try await client.execute(Self.request(base + path, raw), timeout: .seconds(300))
        var events: [[String: Any]?] = [], reader = ServerSentEventReader()
        read: for try await buffer in response.body {
            for payload in reader.feed(String(buffer: buffer)) {
                let object = payload == "[DONE]" ? nil : (try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
                events.append(object)
                if !onEvent(object) { break read }
            }
        }
        return (Int(response.status.code), events)
    }

    /// The sample `name` of `/metrics` (labels included as written), nil when absent.
    func metric(_ name: String) async throws -> Double? {
        let m = try await get("/metrics").text
        for line in m.split(separator: "\n") where line.hasPrefix(name + " ") { return Double(line.dropFirst(name.count + 1)) }
        return nil
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

extension [String: Any] {
    /// `choices[0][key]` (`text`, `finish_reason`, `message`, `delta`).
    func choice(_ key: String) -> Any? { ((self["choices"] as? [[String: Any]])?.first)?[key] }
}
