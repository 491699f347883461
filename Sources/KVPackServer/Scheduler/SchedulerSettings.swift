/// How the scheduler batches and admits requests.
public struct SchedulerSettings: Sendable, Hashable {
    /// Requests that may wait for their prompt to run; beyond it new ones get 429.
    public var maxQueue: Int
    /// Most requests decoding at once (one decode step runs them all).
    public var maxBatch: Int
    /// Prompt tokens run between two decode steps (a long prompt does not stall the others longer).
    public var prefillChunk: Int
    /// Observation-window queries handed to the policy at the prompt's end.
    public var window: Int
    /// The `Retry-After` seconds of 429 and 503 answers.
    public var retryAfterSeconds: Int
    /// Shared prompt prefixes kept compressed for forking (0: no sharing).
    public var prefixEntries: Int
    /// The shortest prefix worth sharing, in tokens.
    public var minimumSharedPrefix: Int

    public init(maxQueue: Int = 64, maxBatch: Int = 64, prefillChunk: Int = 256, window: Int = 32, retryAfterSeconds: Int = 1,
                prefixEntries: Int = 8, minimumSharedPrefix: Int = 8) {
        self.maxQueue = maxQueue
        self.maxBatch = maxBatch
        self.prefillChunk = prefillChunk
        self.window = window
        self.retryAfterSeconds = retryAfterSeconds
        self.prefixEntries = prefixEntries
        self.minimumSharedPrefix = minimumSharedPrefix
    }

    /// - Throws: `ServeError.setting` for a value out of range.
    func validate() throws(ServeError) {
        for (name, value, least) in [("max-queue", maxQueue, 0), ("max-batch", maxBatch, 1), ("prefill-chunk", prefillChunk, 1),
                                     ("window", window, 0), ("retry-after", retryAfterSeconds, 0), ("prefix-entries", prefixEntries, 0),
                                     ("minimum shared prefix", minimumSharedPrefix, 1)] where value < least {
            throw .setting(name: name, value: "\(value)", expected: "at least \(least)")
        }
    }
}
