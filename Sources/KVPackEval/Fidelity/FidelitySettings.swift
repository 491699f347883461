/// The shape of a next-token fidelity evaluation: each of `chunks` chunks of the text is a prompt
/// of `context` tokens (run densely, then compressed by the policy at its end) followed by
/// `continuation` teacher-forced tokens decoded one at a time through the compressed session.
public struct FidelitySettings: Sendable, Hashable, Codable {
    /// Prompt tokens per chunk (compression acts at their end).
    public var context: Int
    /// Teacher-forced tokens per chunk after the prompt; each gives one compared next-token
    /// distribution.
    public var continuation: Int
    /// Chunks of the text, laid end to end from its start.
    public var chunks: Int
    /// Observation-window queries handed to the policy at prefill (the last prompt tokens').
    public var window: Int
    /// Tokens per page of the sessions.
    public var pageSize: Int

    /// - Throws: `FidelityError.nonPositive` naming the option that is not positive.
    public init(context: Int, continuation: Int, chunks: Int = 1, window: Int = 32, pageSize: Int = 16) throws(FidelityError) {
        for (what, value) in [("--context", context), ("--continuation", continuation), ("--chunks", chunks), ("--window", window),
                              ("--page-size", pageSize)] where value <= 0 {
            throw .nonPositive(what: what, value: value)
        }
        self.context = context
        self.continuation = continuation
        self.chunks = chunks
        self.window = window
        self.pageSize = pageSize
    }

    /// Tokens of one chunk: `context + continuation`.
    public var chunkLength: Int { context + continuation }

    /// Tokens the text needs: every chunk, plus the token after the last one (the reference of the
    /// last chunk's last prediction).
    public var tokensNeeded: Int { chunks * chunkLength + 1 }
}
