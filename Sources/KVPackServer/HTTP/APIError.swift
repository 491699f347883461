import Foundation

/// A request the server refuses or cannot serve, as the HTTP status and OpenAI-style JSON body
/// (`{"error": {"message", "type", "param", "code"}}`) the client receives. The message names the
/// problem so the client can fix the request.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status code (400, 404, 413, 422, 429, 500, 503).
    public var status: Int
    /// OpenAI's error type: `invalid_request_error`, `rate_limit_error`, `server_error`, ...
    public var type: String
    /// What is wrong, for a person.
    public var message: String
    /// The request field at fault, when one is.
    public var param: String?
    /// A stable machine-readable code (`unknown_field`, `context_length_exceeded`, ...).
    public var code: String
    /// Seconds the client should wait before retrying (the `Retry-After` header of 429 and 503).
    public var retryAfterSeconds: Int?

    public init(status: Int, type: String = "invalid_request_error", code: String, message: String, param: String? = nil,
                retryAfterSeconds: Int? = nil) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// The JSON body: `{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}`.
    public var json: Data {
        var error: [String: Any] = ["message": message, "type": type, "code": code]
        error["param"] = param ?? NSNull()
        // A dictionary of strings and null always serializes.
        return try! JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])
    }

    static func badRequest(_ code: String, _ message: String, param: String? = nil) -> APIError {
        APIError(status: 400, code: code, message: message, param: param)
    }

    static func serverError(_ message: String) -> APIError {
        APIError(status: 500, type: "server_error", code: "internal_error", message: message)
    }
}
