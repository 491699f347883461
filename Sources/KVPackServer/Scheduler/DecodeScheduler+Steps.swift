import KVPack
import KVPackModel
import Logging

/// The decode steps: every active request through one batched decode, tokens streamed out,
/// requests finished and their pages given back; and the room the pool has for more.
extension DecodeScheduler {
    // MARK: - Decode steps

    /// One batched decode step over every active request.
    func decodeStep() async {
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
    func handle(_ seq: ActiveSequence, token: Int) {
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
    func emitRest(_ seq: ActiveSequence) -> Bool {
        let (emit, stopped) = seq.stops.feed(seq.detokenizer.finish())
        let text = emit + seq.stops.flush()
        if !text.isEmpty { seq.events.yield(.text(text)) }
        return stopped
    }

    func finish(_ seq: ActiveSequence, reason: FinishReason) {
        let usage = seq.usage
        seq.session.close()
        remove(seq)
        metrics.requestRatio.record(usage.denseBytes > 0 ? Double(usage.cacheBytes) / Double(usage.denseBytes) : 0)
        metrics.request(endpoint: seq.endpoint, outcome: reason.rawValue)
        seq.events.yield(.finished(reason, usage))
        seq.events.finish()
    }

    func finish(_ seq: ActiveSequence, failure: APIError) {
        seq.session.close()
        remove(seq)
        metrics.request(endpoint: seq.endpoint, outcome: "failed")
        logger.warning("request failed", metadata: ["id": "\(seq.id)", "error": "\(failure.message)"])
        seq.events.yield(.failed(failure))
        seq.events.finish()
    }

    func fail(_ p: PendingRequest, _ error: APIError) {
        metrics.request(endpoint: p.endpoint, outcome: error.status < 500 ? "bad_request" : "failed")
        p.events.yield(.failed(error))
        p.events.finish()
    }

    func remove(_ seq: ActiveSequence) {
        active.removeAll { $0 === seq }
        releases += 1
        metrics.activeRequests.set(Double(active.count))
    }

    // MARK: - Room

    /// Whether `bytes` more fit beside what the active requests have reserved.
    func hasRoom(_ bytes: Int) -> Bool {
        pool.statistics.freeBytes - active.reduce(0) { $0 + reservedBytes($1) } >= bytes
    }

    /// Pool bytes `tokens` appended tokens can take in `session`: f16 pages of every stored head
    /// of every layer, `ceil(tokens / pageSize)` a head (appends fill the open page, then new
    /// ones), and one more for a decode stage re-encoding a page.
    func growthBytes(tokens: Int, session: CacheSession) -> Int {
        let pageSize = pool.pageSize
        return headPages(session) * ((max(0, tokens) + pageSize - 1) / pageSize + 1) * pool.slotBytes(.f16)
    }

    /// What an active request still holds in reserve: its `growthBytes` for `maxTokens` less the
    /// pages its appended tokens have taken so far.
    func reservedBytes(_ seq: ActiveSequence) -> Int {
        let pageSize = pool.pageSize, appended = seq.position - seq.request.prompt.count
        let pages = (seq.request.maxTokens + pageSize - 1) / pageSize + 1 - (appended + pageSize - 1) / pageSize
        return headPages(seq.session) * max(0, pages) * pool.slotBytes(.f16)
    }

    /// Stored heads of every layer: the pages one appended token can open.
    func headPages(_ session: CacheSession) -> Int {
        let hp = model.model.hyperparameters
        return hp.layerCount * hp.kvHeads * session.repeatFactor
    }
}
