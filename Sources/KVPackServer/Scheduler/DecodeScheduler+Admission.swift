import KVPack
import KVPackModel
import Logging

/// Admission and prompts: the next waiting request's prompt run a chunk at a time, stored into its
/// session through its policy, and admitted to the decode steps when its pages fit.
extension DecodeScheduler {
    // MARK: - Admission and prompts

    /// Takes the first waiting request as the job (room permitting a new active request).
    func startNextJob() {
        guard !queue.isEmpty, active.count < settings.maxBatch else { return }
        let p = queue.removeFirst()
        metrics.queued.set(Double(queue.count))
        let r = p.request
        do throws(ModelError) {
            if let n = r.sharedPrefixLength, n >= settings.minimumSharedPrefix, n < r.prompt.count, settings.prefixEntries > 0 {
                let key = PrefixCache.Key(policy: r.policy.spec, tokens: Array(r.prompt[..<n]))
                if prefixes.session(for: key) != nil {
                    metrics.prefixHits.increment()
                    job = PrefillJob(pending: p, phase: .fork(key: key))
                } else {
                    let session = try model.model.makeSession(pool: pool, policy: r.policy.policy)
                    job = PrefillJob(pending: p, phase: .prefix(try prefill(key.tokens, session: session), key: key))
                }
            } else {
                let session = try model.model.makeSession(pool: pool, policy: r.policy.policy)
                job = PrefillJob(pending: p, phase: .prompt(try prefill(r.prompt, session: session)))
            }
        } catch {
            fail(p, APIError.serverError("the prompt cannot run: \(error)"))
        }
    }

    func prefill(_ tokens: [Int], session: CacheSession) throws(ModelError) -> PromptPrefill {
        try PromptPrefill(model: model.model, tokens: tokens, session: session, window: settings.window, chunk: settings.prefillChunk)
    }

    /// One piece of the job's work; false when it waits for room.
    func advanceJob() async -> Bool {
        guard let j = job else { return false }
        if let s = j.stalledAt, s == releases {
            // Nothing was given back since it found no room: free what can be, or give up.
            return active.isEmpty ? unstall() : false
        }
        let id = j.pending.id
        let start = ContinuousClock.now
        defer { metrics.prefillChunk.record(ContinuousClock.now - start) }
        do throws(ModelError) {
            switch j.phase {
            case .prompt(let p) where !p.isComplete, .prefix(let p, _) where !p.isComplete:
                let next = try await Self.step(p)
                guard job?.pending.id == id else { return true }
                if case .prefix(_, let key) = j.phase { job?.phase = .prefix(next, key: key) } else { job?.phase = .prompt(next) }
            case .prompt(let p):
                guard let (hidden, session) = try await store(p, reserving: j.pending.request.maxTokens) else { return stall() }
                guard job?.pending.id == id else { session.close(); return true }
                try admit(session: session, hidden: hidden, sharedPrefix: 0)
            case .prefix(let p, let key):
                let rest = j.pending.request.prompt.count - key.tokens.count + j.pending.request.maxTokens
                guard let (_, session) = try await store(p, reserving: rest) else { return stall() }
                guard job?.pending.id == id else { session.close(); return true }
                prefixes.insert(session, for: key)
                job?.phase = .fork(key: key)
                return await advanceJob()
            case .fork(let key):
                guard let prefix = prefixes.session(for: key) else {
                    // Dropped for room meanwhile: compress it again.
                    let session = try model.model.makeSession(pool: pool, policy: j.pending.request.policy.policy)
                    job?.phase = .prefix(try prefill(key.tokens, session: session), key: key)
                    return true
                }
                let r = j.pending.request
                guard hasRoom(growthBytes(tokens: r.prompt.count - key.tokens.count + r.maxTokens, session: prefix)) else { return stall() }
                let fork: CacheSession
                do throws(SessionError) { fork = try prefix.fork() } catch { throw .session(error) }
                job?.phase = .suffix(fork, done: key.tokens.count)
                job?.sharedPrefixTokens = key.tokens.count
                job?.stalledAt = nil
            case .suffix(let session, let done):
                let prompt = j.pending.request.prompt
                let end = min(prompt.count, done + settings.prefillChunk)
                let hidden = try await Self.forward(model.model, Array(prompt[done..<end]), start: done, session: session)
                guard job?.pending.id == id else { return true }
                if end == prompt.count {
                    try admit(session: session, hidden: hidden, sharedPrefix: j.sharedPrefixTokens)
                } else {
                    job?.phase = .suffix(session, done: end)
                }
            }
        } catch {
            guard let j = job, j.pending.id == id else { return true }
            for s in j.ownSessions { s.close() }
            job = nil
            releases += 1
            fail(j.pending, Self.apiError(error))
        }
        return true
    }

    /// Marks the job as waiting for pages: false (no work done) while requests decode and will
    /// give pages back; with none decoding, `unstall()` at once.
    func stall() -> Bool {
        job?.stalledAt = releases
        return active.isEmpty ? unstall() : false
    }

    /// The job found no room and nothing is decoding: drop the cached prefixes and retry, or fail
    /// the request when there are none (it cannot fit in the pool at all).
    func unstall() -> Bool {
        if prefixes.removeAll() > 0 {
            releases += 1
            return true
        }
        guard let j = job else { return false }
        for s in j.ownSessions { s.close() }
        job = nil
        let r = j.pending.request
        fail(j.pending, APIError(status: 400, code: "cache_does_not_fit",
                                 message: "the cache of this prompt (\(r.prompt.count) tokens, policy \(r.policy.spec)) and \(r.maxTokens) generated tokens does not fit in the page pool (\(pool.configuration.budgetBytes) bytes) even alone; shorten the prompt or max_tokens, or use a policy that compresses more"))
        return true
    }

    /// Stores a finished prompt run into its session, or into a fresh one when the first was
    /// closed to give its pages back. Nil when the pool has no room for it and `tokens` more
    /// tokens per head (the session left empty).
    func store(_ p: PromptPrefill, reserving tokens: Int) async throws(ModelError) -> (HiddenStates, CacheSession)? {
        var session = p.session.isClosed ? try model.model.makeSession(pool: pool, policy: p.session.policy) : p.session
        let hidden: HiddenStates
        do throws(ModelError) {
            do throws(ModelError) {
                hidden = try await Self.store(p, into: session)
            } catch .session(.policy(let why)) {
                // A prompt the policy cannot compress (shorter than its window or budget): kept whole.
                logger.debug("prompt kept dense", metadata: ["policy": "\(session.policy)", "reason": "\(why)"])
                session.close()
                session = try model.model.makeSession(pool: pool, policy: DenseSessionPolicy())
                hidden = try await Self.store(p, into: session)
            }
        } catch {
            if case .session(.pool(.exhausted)) = error { return nil }
            if case .session(.pool(.bankFull)) = error { return nil }
            throw error
        }
        guard hasRoom(growthBytes(tokens: tokens, session: session)) else {
            session.close()
            releases += 1
            return nil
        }
        return (hidden, session)
    }

    /// The job's prompt has run: its first token is sampled and it joins the decode steps.
    func admit(session: CacheSession, hidden: HiddenStates, sharedPrefix: Int) throws(ModelError) {
        guard let j = job else { return }
        job = nil
        let r = j.pending.request
        let logits = try model.model.logits(hidden, rows: hidden.tokens - 1..<hidden.tokens)
        let sampler: TokenSampler
        do throws(GenerationError) { sampler = try TokenSampler(r.sampling) } catch {
            session.close()
            releases += 1
            fail(j.pending, APIError.badRequest("invalid_sampling", error.description))
            return
        }
        let seq = ActiveSequence(id: j.pending.id, request: r, events: j.pending.events, session: session, enqueued: j.pending.enqueued,
                                 endpoint: j.pending.endpoint, sampler: sampler, tokenizer: model.tokenizer, sharedPrefixTokens: sharedPrefix)
        active.append(seq)
        peakActive = max(peakActive, active.count)
        metrics.activeRequests.set(Double(active.count))
        metrics.activePeak.set(Double(peakActive))
        metrics.promptTokens.increment(by: Int64(r.prompt.count))
        seq.events.yield(.started)
        metrics.timeToFirstToken.record(ContinuousClock.now - seq.enqueued)
        handle(seq, token: seq.sampler.next(logits.row(0)))
    }

    // MARK: - Work off the actor

    nonisolated static func step(_ p: PromptPrefill) async throws(ModelError) -> PromptPrefill {
        var p = p
        try p.step()
        return p
    }

    nonisolated static func store(_ p: PromptPrefill, into session: CacheSession) async throws(ModelError) -> HiddenStates {
        try p.store(into: session)
    }

    nonisolated static func forward(_ model: LanguageModel, _ tokens: [Int], start: Int, session: CacheSession) async throws(ModelError) -> HiddenStates {
        try model.forward(tokens, startingAt: start, session: session)
    }

    static func apiError(_ error: ModelError) -> APIError {
        if case .session(.pool(.neverFits(let bytes, let budget))) = error {
            return APIError(status: 400, code: "cache_does_not_fit",
                            message: "the prompt's cache takes \(bytes) bytes, more than the page pool's \(budget) even alone; shorten the prompt or use a policy that compresses more")
        }
        if case .session(.pool(let e)) = error {
            return APIError(status: 503, type: "server_error", code: "pool_exhausted", message: "the page pool ran out of room mid-request: \(e)")
        }
        return APIError.serverError("\(error)")
    }
}
