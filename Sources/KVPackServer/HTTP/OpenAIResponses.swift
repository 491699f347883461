import Foundation

/// OpenAI-style JSON of completions, chat completions and their stream chunks.
struct OpenAIResponses {
    let model: String
    let chat: Bool
    let id: String
    let created = Int(Date().timeIntervalSince1970)

    init(model: String, chat: Bool, requestID: UInt64) {
        self.model = model
        self.chat = chat
        id = (chat ? "chatcmpl-" : "cmpl-") + String(requestID)
    }

    private var head: [String: Any] { ["id": id, "created": created, "model": model] }

    /// The whole answer of a request that did not stream.
    func completion(text: String, finish: FinishReason, usage: GenerationUsage) -> Data {
        var o = head
        o["object"] = chat ? "chat.completion" : "text_completion"
        o["choices"] = [chat ? ["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": finish.rawValue]
                             : ["index": 0, "text": text, "logprobs": NSNull(), "finish_reason": finish.rawValue]]
        o["usage"] = Self.usage(usage)
        o["kvpack"] = Self.cache(usage)
        return Self.json(o)
    }

    /// One server-sent event with a stream chunk: `text` (chat: as the delta's content; `role`
    /// opens the assistant message), `finish` on the last one.
    func chunk(text: String?, role: Bool = false, finish: FinishReason? = nil, usage: GenerationUsage? = nil) -> Data {
        var o = head
        o["object"] = chat ? "chat.completion.chunk" : "text_completion"
        var choice: [String: Any] = ["index": 0, "finish_reason": finish.map { $0.rawValue as Any } ?? NSNull()]
        if chat {
            var delta: [String: Any] = [:]
            if role { delta["role"] = "assistant" }
            if let text { delta["content"] = text }
            choice["delta"] = delta
        } else {
            choice["text"] = text ?? ""
            choice["logprobs"] = NSNull()
        }
        o["choices"] = [choice]
        if let usage {
            o["usage"] = Self.usage(usage)
            o["kvpack"] = Self.cache(usage)
        }
        return Self.event(Self.json(o))
    }

    /// `data: <json>\n\n`.
    static func event(_ json: Data) -> Data { Data("data: ".utf8) + json + Data("\n\n".utf8) }

    static let done = Data("data: [DONE]\n\n".utf8)

    private static func usage(_ u: GenerationUsage) -> [String: Any] {
        ["prompt_tokens": u.promptTokens, "completion_tokens": u.completionTokens, "total_tokens": u.promptTokens + u.completionTokens]
    }

    /// KVPack's own fields: the policy that ran and what the request's cache took.
    private static func cache(_ u: GenerationUsage) -> [String: Any] {
        ["policy": u.policy, "cache_bytes": u.cacheBytes, "dense_bytes": u.denseBytes,
         "compression_ratio": u.denseBytes > 0 ? (Double(u.cacheBytes) / Double(u.denseBytes) * 10_000).rounded() / 10_000 : 0,
         "shared_prefix_tokens": u.sharedPrefixTokens]
    }

    static func json(_ object: [String: Any]) -> Data {
        // Strings, numbers, arrays and dictionaries of them, and NSNull: always serializable.
        try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
