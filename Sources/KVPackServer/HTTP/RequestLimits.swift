/// What a request may ask for.
public struct RequestLimits: Sendable, Hashable {
    /// The most `max_tokens` a request may ask.
    public var maxTokens: Int
    /// `max_tokens` when the request gives none.
    public var defaultMaxTokens: Int
    /// The largest request body, in bytes (413 beyond it).
    public var maxBodyBytes: Int
    /// The most stop strings per request.
    public var maxStops: Int

    public init(maxTokens: Int = 1024, defaultMaxTokens: Int = 128, maxBodyBytes: Int = 1 << 20, maxStops: Int = 4) {
        self.maxTokens = maxTokens
        self.defaultMaxTokens = defaultMaxTokens
        self.maxBodyBytes = maxBodyBytes
        self.maxStops = maxStops
    }
}
