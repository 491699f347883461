import KVPack
import KVPackModel

/// A request the scheduler has admitted: its session holds its cache in the pool, and each
/// decode step feeds it the token sampled at the step before. Confined to the scheduler.
final class ActiveSequence {
    let id: UInt64
    let request: GenerationRequest
    let events: AsyncStream<GenerationEvent>.Continuation
    let session: CacheSession
    let enqueued: ContinuousClock.Instant
    /// The route it came by (a metrics label).
    let endpoint: String
    /// The next token to feed (sampled, emitted, not yet in the cache).
    var pending: Int
    /// Its position.
    var position: Int
    var sampler: TokenSampler
    var detokenizer: IncrementalDetokenizer
    var stops: StopMatcher
    /// Tokens generated so far (stop tokens excluded).
    var generated = 0
    let sharedPrefixTokens: Int

    init(id: UInt64, request: GenerationRequest, events: AsyncStream<GenerationEvent>.Continuation, session: CacheSession,
         enqueued: ContinuousClock.Instant, endpoint: String, sampler: TokenSampler, tokenizer: GGUFTokenizer, sharedPrefixTokens: Int) {
        self.id = id
        self.request = request
        self.events = events
        self.session = session
        self.enqueued = enqueued
        self.endpoint = endpoint
        self.sampler = sampler
        detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        stops = StopMatcher(request.stops)
        pending = 0
        position = request.prompt.count
        self.sharedPrefixTokens = sharedPrefixTokens
    }

    /// What the request has used so far (read before its session closes).
    var usage: GenerationUsage {
        GenerationUsage(promptTokens: request.prompt.count, completionTokens: generated, sharedPrefixTokens: sharedPrefixTokens,
                        cacheBytes: session.byteCount, denseBytes: session.denseByteCount, policy: session.policy.description)
    }
}

/// A request waiting for its prompt to run.
struct PendingRequest {
    let id: UInt64
    let request: GenerationRequest
    let events: AsyncStream<GenerationEvent>.Continuation
    let enqueued: ContinuousClock.Instant
    let endpoint: String
}
