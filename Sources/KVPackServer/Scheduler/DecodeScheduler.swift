import KVPack
import KVPackModel
import Logging

/// Continuous batching over one model and one page pool: requests join and leave between decode
/// steps; every step runs all active requests through one batched decode (`LanguageModel.decode`,
/// one attend call per layer); between steps the next waiting request's prompt runs a chunk at a
/// time, then its policy compresses it into its session. A request whose cache does not fit waits
/// (in arrival order) until others give pages back; beyond `maxQueue` waiting, new requests are
/// refused (429). Each active request holds a reservation for the pages its remaining tokens can
/// take, so the pool is never over-committed mid-generation. A cancelled request's session closes
/// at once, its pages back in the pool.
///
/// Shared prompt prefixes (a chat's system turn) are compressed once per policy and forked.
public actor DecodeScheduler {
    public let model: ServedModel
    public let pool: PagePool
    public let settings: SchedulerSettings
    let attend: any BatchAttendBackend
    let metrics: ServeMetrics
    let logger = Logger(label: "kvpack.serve.scheduler")

    private var queue: [PendingRequest] = []
    private var job: PrefillJob?
    private var active: [ActiveSequence] = []
    private var nextID: UInt64 = 0
    private var draining = false
    private var stopping = false
    private var wakeSignal: CheckedContinuation<Void, Never>?
    private var wakePending = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private var prefixes: PrefixCache
    /// Counts sessions closed (requests done or cancelled, prefixes dropped): a stalled job
    /// retries when it moves.
    private var releases: UInt64 = 0
    private var peakActive = 0

    /// - Parameters:
    ///   - pool: the page pool every request's session lives in (its head dim the model's).
    ///   - attend: where the decode steps' attention runs (`CPUBatchAttend`, or a device pool
    ///     mirroring `pool`).
    /// - Throws: `ServeError.setting` for settings out of range, `.pool` for a pool of another head dim.
    public init(model: ServedModel, pool: PagePool, attend: any BatchAttendBackend = CPUBatchAttend(),
                settings: SchedulerSettings = SchedulerSettings(), metrics: ServeMetrics) throws(ServeError) {
        try settings.validate()
        guard pool.headDim == model.model.hyperparameters.headDim else {
            throw .pool("the pool's head dim is \(pool.headDim); the model's is \(model.model.hyperparameters.headDim)")
        }
        self.model = model
        self.pool = pool
        self.attend = attend
        self.settings = settings
        self.metrics = metrics
        prefixes = PrefixCache(capacity: settings.prefixEntries)
    }

    // MARK: - Requests

    /// Queues a generation; its events come in the returned stream (`started`, `text`...,
    /// `finished` or `failed`). Dropping the stream before it finishes cancels the request.
    /// - Throws: `APIError` 503 while the server shuts down, 429 when `maxQueue` requests wait.
    public func submit(_ request: GenerationRequest, endpoint: String = "completions") throws(APIError) -> (id: UInt64, events: AsyncStream<GenerationEvent>) {
        guard !draining, !stopping else {
            metrics.request(endpoint: endpoint, outcome: "unavailable")
            throw APIError(status: 503, type: "server_error", code: "shutting_down", message: "the server is shutting down; retry on another instance",
                           retryAfterSeconds: settings.retryAfterSeconds)
        }
        guard queue.count < settings.maxQueue else {
            metrics.request(endpoint: endpoint, outcome: "rejected")
            throw APIError(status: 429, type: "rate_limit_error", code: "queue_full",
                           message: "\(queue.count) requests already wait for room in the page pool (the limit); retry later",
                           retryAfterSeconds: settings.retryAfterSeconds)
        }
        nextID += 1
        let id = nextID
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination, let self { Task { await self.cancel(id) } }
        }
        queue.append(PendingRequest(id: id, request: request, events: continuation, enqueued: .now, endpoint: endpoint))
        metrics.queued.set(Double(queue.count))
        wake()
        return (id, stream)
    }

    /// Ends request `id` now (its client went away): its session closes, its pages go back to
    /// the pool. Nothing happens for an id that finished already.
    public func cancel(_ id: UInt64) {
        if let i = queue.firstIndex(where: { $0.id == id }) {
            let p = queue.remove(at: i)
            p.events.finish()
            metrics.request(endpoint: p.endpoint, outcome: "cancelled")
            metrics.queued.set(Double(queue.count))
        } else if let j = job, j.pending.id == id {
            for s in j.ownSessions { s.close() }
            job = nil
            releases += 1
            j.pending.events.finish()
            metrics.request(endpoint: j.pending.endpoint, outcome: "cancelled")
        } else if let seq = active.first(where: { $0.id == id }) {
            seq.session.close()
            remove(seq)
            seq.events.finish()
            metrics.request(endpoint: seq.endpoint, outcome: "cancelled")
        } else {
            return
        }
        logger.debug("request cancelled", metadata: ["id": "\(id)"])
        wake()
    }

    /// New requests get 503 from now on; the ones admitted or waiting go on.
    public func beginDraining() {
        draining = true
        wake()
    }

    /// Returns once no request waits or runs.
    public func waitUntilIdle() async {
        guard !isIdle else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// Ends `run()`: requests still waiting or running fail with 503.
    public func stop() {
        stopping = true
        wake()
    }

    /// Requests now, pool statistics and the live sessions' bytes.
    public func snapshot() -> SchedulerSnapshot {
        SchedulerSnapshot(active: active.count, queued: queue.count + (job == nil ? 0 : 1), peakActive: peakActive,
                          cacheBytes: active.reduce(0) { $0 + $1.session.byteCount },
                          denseBytes: active.reduce(0) { $0 + $1.session.denseByteCount }, pool: pool.statistics, draining: draining)
    }

    private var isIdle: Bool { queue.isEmpty && job == nil && active.isEmpty }

    // MARK: - The loop

    /// Runs prompts and decode steps until `stop()`.
    public func run() async {
        while !stopping {
            if job == nil { startNextJob() }
            var worked = false
            if job != nil { worked = await advanceJob() }
            if !active.isEmpty {
                await decodeStep()
                worked = true
            }
            if isIdle {
                for w in idleWaiters { w.resume() }
                idleWaiters = []
            }
            if !worked && !stopping { await sleep() }
        }
        shutDown()
    }

    private func wake() {
        if let w = wakeSignal {
            wakeSignal = nil
            w.resume()
        } else {
            wakePending = true
        }
    }

    private func sleep() async {
        if wakePending {
            wakePending = false
            return
        }
        await withCheckedContinuation { wakeSignal = $0 }
    }

    private func shutDown() {
        let error = APIError(status: 503, type: "server_error", code: "shutting_down", message: "the server stopped before the request finished")
        for p in queue { p.events.yield(.failed(error)); p.events.finish() }
        queue = []
        if let j = job {
            for s in j.ownSessions { s.close() }
            j.pending.events.yield(.failed(error))
            j.pending.events.finish()
            job = nil
        }
        for seq in active {
            seq.session.close()
            seq.events.yield(.failed(error))
            seq.events.finish()
        }
        active = []
        _ = prefixes.removeAll()
        for w in idleWaiters { w.resume() }
        idleWaiters = []
    }

    // MARK: - Admission and prompts

    /// Takes the first waiting request as the job (room permitting a new active request).
    private func startNextJob() {
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

    private func prefill(_ tokens: [Int], session: CacheSession) throws(ModelError) -> PromptPrefill {
        try PromptPrefill(model: model.model, tokens: tokens, session: session, window: settings.window, chunk: settings.prefillChunk)
    }

    /// One piece of the job's work; false when it waits for room.
    private func advanceJob() async -> Bool {
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
    private func stall() -> Bool {
        job?.stalledAt = releases
        return active.isEmpty ? unstall() : false
    }

    /// The job found no room and nothing is decoding: drop the cached prefixes and retry, or fail
    /// the request when there are none (it cannot fit in the pool at all).
    private func unstall() -> Bool {
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
    private func store(_ p: PromptPrefill, reserving tokens: Int) async throws(ModelError) -> (HiddenStates, CacheSession)? {
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
    private func admit(session: CacheSession, hidden: HiddenStates, sharedPrefix: Int) throws(ModelError) {
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

    // MARK: - Decode steps

    /// One batched decode step over every active request.
    private func decodeStep() async {
        let batch = active
        let requests = batch.map { DecodeRequest(session: $0.session, tokens: [$0.pending], start: $0.position) }
        let start = ContinuousClock.now
        let results = await model.model.decode(requests, attend: attend)
        metrics.decodeStep.record(ContinuousClock.now - start)
        metrics.batchSize.set(Double(batch.count))
        for (seq, result) in zip(batch, results) where active.contains(where: { $0 === seq }) {
            switch result {
            case .success(let logits):
                seq.position += 1
                handle(seq, token: seq.sampler.next(logits.row(0)))
            case .failure(let error):
                finish(seq, failure: Self.apiError(error))
            }
        }
    }

    /// A token sampled for `seq`: emitted (through the stop strings), or the end of its generation.
    private func handle(_ seq: ActiveSequence, token: Int) {
        let r = seq.request
        if !r.ignoreEndOfSequence && (r.stopTokens.contains(token) || model.endOfSequence.contains(token)) {
            emitRest(seq)
            finish(seq, reason: .stop)
            return
        }
        seq.generated += 1
        metrics.generatedTokens.increment()
        let text = (try? seq.detokenizer.append(token)) ?? ""
        let (emit, stopped) = seq.stops.feed(text)
        if !emit.isEmpty { seq.events.yield(.text(emit)) }
        if stopped {
            finish(seq, reason: .stop)
        } else if seq.generated >= r.maxTokens || seq.position >= model.contextLength {
            finish(seq, reason: emitRest(seq) ? .stop : .length)
        } else {
            seq.pending = token
        }
    }

    /// Emits what the detokenizer and the stop strings still hold; true when a stop string ended it.
    @discardableResult
    private func emitRest(_ seq: ActiveSequence) -> Bool {
        let (emit, stopped) = seq.stops.feed(seq.detokenizer.finish())
        let text = emit + seq.stops.flush()
        if !text.isEmpty { seq.events.yield(.text(text)) }
        return stopped
    }

    private func finish(_ seq: ActiveSequence, reason: FinishReason) {
        let usage = seq.usage
        seq.session.close()
        remove(seq)
        metrics.requestRatio.record(usage.denseBytes > 0 ? Double(usage.cacheBytes) / Double(usage.denseBytes) : 0)
        metrics.request(endpoint: seq.endpoint, outcome: reason.rawValue)
        seq.events.yield(.finished(reason, usage))
        seq.events.finish()
    }

    private func finish(_ seq: ActiveSequence, failure: APIError) {
        seq.session.close()
        remove(seq)
        metrics.request(endpoint: seq.endpoint, outcome: "failed")
        logger.warning("request failed", metadata: ["id": "\(seq.id)", "error": "\(failure.message)"])
        seq.events.yield(.failed(failure))
        seq.events.finish()
    }

    private func fail(_ p: PendingRequest, _ error: APIError) {
        metrics.request(endpoint: p.endpoint, outcome: error.status < 500 ? "bad_request" : "failed")
        p.events.yield(.failed(error))
        p.events.finish()
    }

    private func remove(_ seq: ActiveSequence) {
        active.removeAll { $0 === seq }
        releases += 1
        metrics.activeRequests.set(Double(active.count))
    }

    // MARK: - Room

    /// Whether `bytes` more fit beside what the active requests have reserved.
    private func hasRoom(_ bytes: Int) -> Bool {
        pool.statistics.freeBytes - active.reduce(0) { $0 + reservedBytes($1) } >= bytes
    }

    /// Pool bytes `tokens` appended tokens can take in `session`: f16 pages of every stored head
    /// of every layer, `ceil(tokens / pageSize)` a head (appends fill the open page, then new
    /// ones), and one more for a decode stage re-encoding a page.
    private func growthBytes(tokens: Int, session: CacheSession) -> Int {
        let pageSize = pool.pageSize
        return headPages(session) * ((max(0, tokens) + pageSize - 1) / pageSize + 1) * pool.slotBytes(.f16)
    }

    /// What an active request still holds in reserve: its `growthBytes` for `maxTokens` less the
    /// pages its appended tokens have taken so far.
    private func reservedBytes(_ seq: ActiveSequence) -> Int {
        let pageSize = pool.pageSize, appended = seq.position - seq.request.prompt.count
        let pages = (seq.request.maxTokens + pageSize - 1) / pageSize + 1 - (appended + pageSize - 1) / pageSize
        return headPages(seq.session) * max(0, pages) * pool.slotBytes(.f16)
    }

    /// Stored heads of every layer: the pages one appended token can open.
    private func headPages(_ session: CacheSession) -> Int {
        let hp = model.model.hyperparameters
        return hp.layerCount * hp.kvHeads * session.repeatFactor
    }

    // MARK: - Work off the actor

    private nonisolated static func step(_ p: PromptPrefill) async throws(ModelError) -> PromptPrefill {
        var p = p
        try p.step()
        return p
    }

    private nonisolated static func store(_ p: PromptPrefill, into session: CacheSession) async throws(ModelError) -> HiddenStates {
        try p.store(into: session)
    }

    private nonisolated static func forward(_ model: LanguageModel, _ tokens: [Int], start: Int, session: CacheSession) async throws(ModelError) -> HiddenStates {
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

