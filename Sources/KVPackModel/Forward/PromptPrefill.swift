import KVPack

/// A prompt's prefill run a chunk at a time, so that a server can decode other sequences between
/// the chunks of a long prompt: `step()` runs the next chunk densely (a scratch session on its own
/// pool), and once `isComplete`, `store()` hands every layer's keys, values and observation-window
/// queries to the session's policy (`CacheSession.prefill`), which keeps what it chooses in the
/// session's pool. `LanguageModel.prefill(_:session:window:chunk:)` is the same in one call.
///
/// `store()` leaves the session as it was when it throws, so a server whose pool is full can keep
/// the prefill and call `store()` again once pages were given back.
public struct PromptPrefill: Sendable {
    public let model: LanguageModel
    public let session: CacheSession
    public let tokens: [Int]
    /// Observation-window queries handed to the policy.
    public let window: Int
    /// Prompt tokens per `step()`.
    public let chunk: Int
    /// Prompt tokens run so far.
    public private(set) var done = 0
    private var scratch: CacheSession?
    private var keys: [HeadTensor<Float16>?]
    private var values: [HeadTensor<Float16>?]
    private var windowQueries: [HeadTensor<Float>?]
    private var hidden: [Float] = []
    /// Where the chunks spent their time.
    public private(set) var profile = ForwardProfile()

    /// - Parameters:
    ///   - tokens: the prompt's token ids, run at positions `0 ..< tokens.count`.
    ///   - session: an empty session of `model`; its policy chooses what is kept.
    ///   - window: observation-window queries handed to the policy (clamped to the prompt).
    ///   - chunk: prompt tokens per `step()`.
    /// - Throws: `ModelError` for bad tokens, a non-positive chunk, a session of another model or
    ///   one that already holds tokens.
    public init(model: LanguageModel, tokens: [Int], session: CacheSession, window: Int = 32, chunk: Int = 512) throws(ModelError) {
        try model.checkSession(session)
        try model.checkTokens(tokens)
        guard chunk > 0 else { throw .invalidChunk(chunk) }
        let layers = model.hyperparameters.layerCount
        // Refused before the forward pass rather than after it.
        for layer in 0..<layers {
            do throws(SessionError) {
                if try session.tokenCounts(layer: layer).contains(where: { $0 > 0 }) { throw .alreadyPrefilled(layer: layer) }
            } catch {
                throw .session(error)
            }
        }
        let pool: PagePool
        do throws(PoolError) {
            pool = try PagePool(.init(budgetBytes: 1 << 50, headDim: model.hyperparameters.headDim, pageSize: session.pool.pageSize,
                                      name: "prefill"))
        } catch {
            throw .session(.pool(error))
        }
        self.model = model
        self.session = session
        self.tokens = tokens
        self.window = max(0, min(window, tokens.count))
        self.chunk = chunk
        scratch = try model.makeSession(pool: pool)
        keys = Array(repeating: nil, count: layers)
        values = keys
        windowQueries = Array(repeating: nil, count: layers)
    }

    /// Whether every chunk has run (`store()` comes next).
    public var isComplete: Bool { done == tokens.count }

    /// Runs the next chunk of the prompt (dense attention over the prompt so far).
    /// - Throws: `ModelError` when the scratch session refuses (it does not, short of memory).
    public mutating func step() throws(ModelError) {
        guard !isComplete, let scratch else { return }
        let end = min(tokens.count, done + chunk), w = window, scale = model.hyperparameters.attentionScale
        var keys = self.keys, values = self.values, windowQueries = self.windowQueries
        let part = try model.run(Array(tokens[done..<end]), startingAt: done) { (layer, q, k, v, positions) throws(ModelError) in
            do throws(SessionError) {
                try scratch.append(layer: layer, keys: k, values: v, positions: positions)
                let out = try scratch.attend(layer: layer, queries: q, positions: positions, scale: scale)
                // The session accepted k, v and q, so they match the layer's shapes so far.
                keys[layer] = keys[layer].map { try! $0.appendingTokens(of: k) } ?? k
                values[layer] = values[layer].map { try! $0.appendingTokens(of: v) } ?? v
                // The last `w` queries so far (they may span chunks).
                let recent = windowQueries[layer].map { try! $0.appendingTokens(of: q) } ?? q
                windowQueries[layer] = try! recent.slicingTokens(max(0, recent.tokens - w)..<recent.tokens)
                return out
            } catch {
                throw .session(error)
            }
        }
        self.keys = keys
        self.values = values
        self.windowQueries = windowQueries
        hidden += part.values
        profile.matrixProducts += part.profile.matrixProducts
        profile.matrixProductOperations += part.profile.matrixProductOperations
        profile.attention += part.profile.attention
        profile.total += part.profile.total
        done = end
        if isComplete {
            // The dense pages are no longer needed: keys and values are kept for `store()`.
            scratch.close()
            self.scratch = nil
        }
    }

    /// Hands the prompt to the session's policy: the kept tokens go into the session's pool.
    /// - Returns: the prompt's final hidden states, `[tokens, d_model]` (what the dense model
    ///   computes: compression acts only on later tokens).
    /// - Throws: `ModelError.invalidPositions` before every chunk has run; `.session` when the
    ///   session refuses (a full pool, a policy that refuses), the session unchanged.
    public func store() throws(ModelError) -> HiddenStates { try store(into: session) }

    /// `store()` into another empty session of the model (with its own policy): where the first
    /// session was closed to give its pages back, say.
    public func store(into target: CacheSession) throws(ModelError) -> HiddenStates {
        try model.checkSession(target)
        guard isComplete else {
            throw .invalidPositions("the prompt has run \(done) of \(tokens.count) tokens; run step() until isComplete before store()")
        }
        let hp = model.hyperparameters, w = window
        let layers = (0..<hp.layerCount).map { l in
            SessionPrompt.Layer(keys: keys[l]!, values: values[l]!, windowQueries: w > 0 ? windowQueries[l]!.halves() : nil)
        }
        let start = ContinuousClock.now
        do throws(SessionError) {
            try target.prefill(SessionPrompt(positions: Array(0..<tokens.count), layers: layers))
        } catch {
            throw .session(error)
        }
        let elapsed = ContinuousClock.now - start
        var profile = profile
        profile.attention += elapsed
        profile.total += elapsed
        return HiddenStates(tokens: tokens.count, width: hp.embeddingLength, values: hidden, profile: profile)
    }
}
