import Foundation
import Hummingbird
import NIOCore

/// The HTTP API: `POST /v1/completions`, `POST /v1/chat/completions` (streaming as server-sent
/// events with `"stream": true`), `GET /health`, `GET /metrics` (Prometheus text). Bad requests
/// get a 4xx JSON error naming the problem; the server goes on serving the others.
struct ServeRoutes: Sendable {
    let scheduler: DecodeScheduler
    let model: ServedModel
    let catalog: PolicyCatalog
    let limits: RequestLimits
    let metrics: ServeMetrics

    func add(to router: Router<BasicRequestContext>) {
        router.get("health") { _, _ in await health() }
        router.get("metrics") { _, _ in await prometheus() }
        router.post("v1/completions") { request, _ in await generate(request, chat: false) }
        router.post("v1/chat/completions") { request, _ in await generate(request, chat: true) }
    }

    private func health() async -> Response {
        let s = await scheduler.snapshot()
        let body: [String: Any] = ["status": s.draining ? "draining" : "ok", "model": model.name, "policy": catalog.defaultPolicy.spec,
                                   "active": s.active, "queued": s.queued]
        return Self.response(s.draining ? .serviceUnavailable : .ok, json: OpenAIResponses.json(body))
    }

    private func prometheus() async -> Response {
        metrics.publish(await scheduler.snapshot())
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }

    private func generate(_ request: Request, chat: Bool) async -> Response {
        let endpoint = chat ? "chat" : "completions"
        var request = request
        let body: GenerationBody
        let generation: GenerationRequest
        let submitted: (id: UInt64, events: AsyncStream<GenerationEvent>)
        do throws(APIError) {
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: limits.maxBodyBytes) } catch {
                throw Self.bodyError(error, limit: limits.maxBodyBytes)
            }
            body = try GenerationBody.decode(Data(buffer.readableBytesView), chat: chat)
            generation = try body.generationRequest(model: model, catalog: catalog, limits: limits, chat: chat)
            submitted = try await scheduler.submit(generation, endpoint: endpoint)
        } catch {
            if error.status < 429 { metrics.request(endpoint: endpoint, outcome: "bad_request") }
            return Self.response(error)
        }
        let (id, events) = submitted
        let wire = OpenAIResponses(model: model.name, chat: chat, requestID: id)
        let scheduler = scheduler
        if body.stream {
            let request = request
            // Watching for the client to hang up reads its connection to the end: it is not reused.
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
                            body: ResponseBody { writer in
                do {
                    try await request.body.consumeWithInboundCloseHandler { _ in
                        for await event in events {
                            switch event {
                            case .started:
                                if chat { try await writer.write(ByteBuffer(data: wire.chunk(text: nil, role: true))) }
                            case .text(let t):
                                try await writer.write(ByteBuffer(data: wire.chunk(text: t)))
                            case .finished(let reason, let usage):
                                try await writer.write(ByteBuffer(data: wire.chunk(text: chat ? nil : "", finish: reason, usage: usage)
                                                                  + OpenAIResponses.done))
                            case .failed(let e):
                                try await writer.write(ByteBuffer(data: OpenAIResponses.event(e.json) + OpenAIResponses.done))
                            }
                        }
                    } onInboundClosed: {
                        Task { await scheduler.cancel(id) }
                    }
                } catch {
                    // The client went away mid-stream: its session closes now.
                    await scheduler.cancel(id)
                    throw error
                }
                try await writer.finish(nil)
            })
        }
        do {
            let outcome = try await request.body.consumeWithInboundCloseHandler { _ in
                var text = ""
                for await event in events {
                    switch event {
                    case .started: break
                    case .text(let t): text += t
                    case .finished(let reason, let usage): return Result<Data, APIError>.success(wire.completion(text: text, finish: reason, usage: usage))
                    case .failed(let e): return .failure(e)
                    }
                }
                return .failure(APIError.serverError("the request ended without an answer (cancelled)"))
            } onInboundClosed: {
                Task { await scheduler.cancel(id) }
            }
            // Watching for the client to hang up read its connection to the end: it is not reused.
            var response: Response
            switch outcome {
            case .success(let json): response = Self.response(.ok, json: json)
            case .failure(let e): response = Self.response(e)
            }
            response.headers[.connection] = "close"
            return response
        } catch {
            await scheduler.cancel(id)
            return Self.response(APIError.serverError("\(error)"))
        }
    }

    /// 413 for a body over the limit, 400 for one that could not be read.
    static func bodyError(_ error: any Error, limit: Int) -> APIError {
        if let e = error as? any HTTPResponseError, e.status == .contentTooLarge {
            return APIError(status: 413, code: "body_too_large", message: "the request body is over this server's limit of \(limit) bytes")
        }
        return .badRequest("unreadable_body", "the request body could not be read: \(error)")
    }

    static func response(_ status: HTTPResponse.Status, json: Data) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(data: json)))
    }

    static func response(_ error: APIError) -> Response {
        var r = response(HTTPResponse.Status(code: error.status), json: error.json)
        if let s = error.retryAfterSeconds { r.headers[.retryAfter] = String(s) }
        return r
    }
}

extension ByteBuffer {
    init(data: Data) { self.init(bytes: data) }
}
