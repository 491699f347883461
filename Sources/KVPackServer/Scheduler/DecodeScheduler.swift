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

    var queue: [PendingRequest] = []
    var job: PrefillJob?
    var active: [ActiveSequence] = []
    var nextID: UInt64 = 0
    var draining = false
    var stopping = false
    var wakeSignal: CheckedContinuation<Void, Never>?
    var wakePending = false
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    var prefixes: PrefixCache
    /// Counts sessions closed (requests done or cancelled, prefixes dropped): a stalled job
    /// retries when it moves.
    var releases: UInt64 = 0
    var peakActive = 0

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

    var isIdle: Bool { queue.isEmpty && job == nil && active.isEmpty }

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

    func wake() {
        if let w = wakeSignal {
            wakeSignal = nil
            w.resume()
        } else {
            wakePending = true
        }
    }

    func sleep() async {
        if wakePending {
            wakePending = false
            return
        }
        await withCheckedContinuation { wakeSignal = $0 }
    }

    func shutDown() {
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
}
