import Dispatch

extension CacheSession {
    /// Attention of `queries` over `layer`'s pages: softmax(q kᵀ · scale) v per query head over
    /// the kept tokens of its stored head, masked by position (causal, and the layer's sliding
    /// window). Then the policy's decode stages act on the layer (with the last query), unless
    /// `runPolicy` is false.
    /// - Parameters:
    ///   - l: the layer.
    ///   - queries: `[queryHeads, tokens, headDim]`.
    ///   - positions: `[tokens]`, the query tokens' positions.
    ///   - scale: logit scale, default `1 / sqrt(headDim)`.
    ///   - runPolicy: whether the policy's decode stages act after the attention.
    /// - Returns: `[queryHeads, tokens, headDim]`, fp32.
    /// - Throws: `SessionError`; the session is unchanged when it throws.
    public func attend(layer l: Int, queries: HeadTensor<Float>, positions: [Int], scale: Float? = nil,
                       runPolicy: Bool = true) throws(SessionError) -> HeadTensor<Float> {
        guard queries.heads == model.queryHeads, queries.headDim == headDim, queries.tokens == positions.count else {
            throw .wrongShape(what: "queries", expected: [model.queryHeads, positions.count, headDim], found: queries.shape)
        }
        try CacheSession.checkFinite(queries, what: "queries")
        let start = ContinuousClock.now
        defer {
            let (seconds, attoseconds) = (ContinuousClock.now - start).components
            pool.metrics.attendSeconds.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        return try state.withLock { (s: inout State) throws(SessionError) -> HeadTensor<Float> in
            guard !s.closed else { throw .closed }
            guard s.layers.indices.contains(l) else { throw .layerOutOfRange(layer: l, layers: s.layers.count) }
            let heads = s.layers[l]
            guard heads.allSatisfy({ $0.tokenCount > 0 }) else { throw .empty(layer: l) }
            let out: HeadTensor<Float>
            let window = model.layerKinds[l].windowSize
            // A decode query past every kept key of a layer without a window sees them all: no
            // mask (the heads' position lists are not gathered).
            let seesAll = window == nil && positions.min().map { q in heads.allSatisfy { ($0.lastPosition ?? .max) <= q } } == true
            do throws(AttentionError) {
                out = try CompressedAttention.attend(
                    queries: queries, sources: heads.map { LiveHeadRows(head: $0, dim: headDim) }, keyPositions: { heads[$0].positions },
                    queryPositions: seesAll ? nil : positions, window: window, scale: scale)
            } catch {
                throw .attention(error)
            }
            if runPolicy { try runDecodeStage(&s, layer: l, queries: queries, positions: positions) }
            return out
        }
    }

    /// The policy's decode stages on `layer` with the last of `queries` (after an attend).
    func runDecodeStage(_ s: inout State, layer l: Int, queries: HeadTensor<Float>, positions: [Int]) throws(SessionError) {
        guard policy.hasDecodeStages, let last = positions.last else { return }
        try s.checkWritable()
        let q = try! queries.slicingTokens(queries.tokens - 1..<queries.tokens) // the last token: in range
        let q16 = try! HeadTensor<Float16>(heads: q.heads, tokens: 1, headDim: headDim, storage: q.storage.map { Float16($0) })
        var step = LiveDecodeStep(layer: l, model: model, query: q16, queryPosition: last, repeatFactor: s.repeatFactor,
                                  state: s.policyState, heads: s.layers[l])
        try policy.decodeStep(&step)
        try reshape(&s, layer: l, selections: step.selections)
        s.policyState = step.state
    }

    /// One query set for one session in a batched `attend`.
    public struct AttendRequest: Sendable {
        public var session: CacheSession
        /// `[queryHeads, tokens, headDim]`.
        public var queries: HeadTensor<Float>
        public var positions: [Int]

        public init(session: CacheSession, queries: HeadTensor<Float>, positions: [Int]) {
            self.session = session
            self.queries = queries
            self.positions = positions
        }
    }

    /// Attends a batch of sessions over `layer` at once, sessions in parallel over the cores (each
    /// session's heads in parallel too). One result per request, in order: a failing request
    /// does not stop the others.
    public static func attend(_ batch: [AttendRequest], layer: Int, scale: Float? = nil,
                              runPolicy: Bool = true) -> [Result<HeadTensor<Float>, SessionError>] {
        let results = ResultSlots<HeadTensor<Float>>(count: batch.count)
        DispatchQueue.concurrentPerform(iterations: batch.count) { i in
            let r = batch[i]
            results.set(i, Result { () throws(SessionError) in
                try r.session.attend(layer: layer, queries: r.queries, positions: r.positions, scale: scale, runPolicy: runPolicy)
            })
        }
        return results.values
    }

    /// The batched `attend` run off the caller's task: the work runs on the cores while the
    /// caller awaits, no thread blocked waiting.
    public static func attend(_ batch: [AttendRequest], layer: Int, scale: Float? = nil,
                              runPolicy: Bool = true) async -> [Result<HeadTensor<Float>, SessionError>] {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: attend(batch, layer: layer, scale: scale, runPolicy: runPolicy)) }
        }
    }
}

/// Results written by concurrent workers, one slot each.
final class ResultSlots<T: Sendable>: Sendable {
    private let slots: Locked<[Result<T, SessionError>?]>

    init(count: Int) { slots = Locked(Array(repeating: nil, count: count)) }

    func set(_ i: Int, _ r: Result<T, SessionError>) { slots.withLock { $0[i] = r } }

    var values: [Result<T, SessionError>] { slots.withLock { $0.map { $0! } } }
}
