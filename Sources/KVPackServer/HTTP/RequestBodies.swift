import Foundation
import KVPackModel

/// A JSON object's keys, any of them.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The fields `/v1/completions` and `/v1/chat/completions` take (OpenAI's names). Unknown fields
/// are refused, naming them; a field of the wrong type names the field and the type it needs.
struct GenerationBody: Decodable {
    var prompt: String?
    var messages: [ChatMessage]?
    var maxTokens: Int?
    var temperature: Double?
    var topP: Double?
    var seed: UInt64?
    var stop: [String] = []
    var stream = false
    var policy: String?
    var n: Int?
    var ignoreEOS = false

    static let shared: Set<String> = ["model", "max_tokens", "temperature", "top_p", "seed", "stop", "stream", "kvpack_policy", "n", "user", "ignore_eos"]
    static let completionFields = shared.union(["prompt"])
    static let chatFields = shared.union(["messages", "max_completion_tokens"])

    /// Decodes `data` as the body of `endpoint` (`completions` or `chat`).
    /// - Throws: `APIError` 400: malformed JSON, not an object, an unknown field, a wrong type.
    static func decode(_ data: Data, chat: Bool) throws(APIError) -> GenerationBody {
        let decoder = JSONDecoder()
        decoder.userInfo[Self.chatKey] = chat
        do {
            return try decoder.decode(GenerationBody.self, from: data)
        } catch let e as APIError {
            throw e
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            // Valid JSON whose number does not fit its field comes here too, without the field.
            if (try? JSONSerialization.jsonObject(with: data)) != nil {
                throw .badRequest("invalid_value", "a field holds a number out of its range: \(Self.reason(context))")
            }
            throw .badRequest("malformed_json", "the body is not valid JSON: \(Self.reason(context))")
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw .badRequest("malformed_json", "the body must be a JSON object")
        } catch let DecodingError.typeMismatch(type, context) {
            let field = Self.path(context.codingPath)
            throw .badRequest("invalid_type", "field '\(field)' must be \(Self.typeName(type, field: field))", param: field)
        } catch let DecodingError.valueNotFound(type, context) {
            let field = Self.path(context.codingPath)
            throw .badRequest("invalid_type", "field '\(field)' must be \(Self.typeName(type, field: field)), not null", param: field)
        } catch let DecodingError.keyNotFound(key, context) {
            let field = Self.path(context.codingPath + [key])
            throw .badRequest("missing_field", "field '\(field)' is required", param: field)
        } catch let DecodingError.dataCorrupted(context) {
            let field = Self.path(context.codingPath)
            throw .badRequest("invalid_value", "field '\(field)': \(Self.reason(context))", param: field)
        } catch {
            throw .badRequest("malformed_json", "the body could not be read: \(error)")
        }
    }

    static let chatKey = CodingUserInfoKey(rawValue: "kvpack.chat")!

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        let chat = decoder.userInfo[Self.chatKey] as? Bool ?? false
        let known = chat ? Self.chatFields : Self.completionFields
        for key in c.allKeys where !known.contains(key.stringValue) {
            throw APIError.badRequest("unknown_field", "unknown field '\(key.stringValue)'; this endpoint takes \(known.sorted().joined(separator: ", "))",
                                      param: key.stringValue)
        }
        func key(_ s: String) -> AnyKey { AnyKey(stringValue: s) }
        if chat {
            messages = try c.decode([ChatMessage].self, forKey: key("messages"))
        } else {
            prompt = try c.decode(String.self, forKey: key("prompt"))
        }
        maxTokens = try c.decodeIfPresent(Int.self, forKey: key("max_tokens"))
        if chat, maxTokens == nil { maxTokens = try c.decodeIfPresent(Int.self, forKey: key("max_completion_tokens")) }
        temperature = try c.decodeIfPresent(Double.self, forKey: key("temperature"))
        topP = try c.decodeIfPresent(Double.self, forKey: key("top_p"))
        if let seed = try c.decodeIfPresent(Int64.self, forKey: key("seed")) {
            guard seed >= 0 else { throw APIError.badRequest("invalid_value", "seed must be a non-negative integer; got \(seed)", param: "seed") }
            self.seed = UInt64(seed)
        }
        if c.contains(key("stop")), try !c.decodeNil(forKey: key("stop")) {
            if let one = try? c.decode(String.self, forKey: key("stop")) {
                stop = [one]
            } else {
                stop = try c.decode([String].self, forKey: key("stop"))
            }
        }
        stream = try c.decodeIfPresent(Bool.self, forKey: key("stream")) ?? false
        policy = try c.decodeIfPresent(String.self, forKey: key("kvpack_policy"))
        n = try c.decodeIfPresent(Int.self, forKey: key("n"))
        ignoreEOS = try c.decodeIfPresent(Bool.self, forKey: key("ignore_eos")) ?? false
        _ = try c.decodeIfPresent(String.self, forKey: key("model"))
        _ = try c.decodeIfPresent(String.self, forKey: key("user"))
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    private static func typeName(_ type: Any.Type, field: String) -> String {
        if field == "stop" { return "a string or an array of strings" }
        if field.hasPrefix("messages") { return "an array of {\"role\": string, \"content\": string} objects" }
        switch type {
        case is Int.Type: return "an integer"
        case is UInt64.Type: return "a non-negative integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "\(type)"
        }
    }

    private static func reason(_ context: DecodingError.Context) -> String {
        if let underlying = context.underlyingError as NSError? {
            return underlying.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
        }
        return context.debugDescription
    }
}
