import Dispatch
import KVPack
import KVPackPolicies
import Synchronization

/// Where a sweep of one capture stands, for progress lines.
public struct SweepProgress: Sendable {
    public var phase: String
    public var done: Int
    public var total: Int
}

/// Measures a sweep's runs on one capture, one layer at a time: each layer is read once, its
/// dense reference computed one KV head at a time (top-k by partial selection, rows in
/// parallel), and every run whose pipeline decides layers alone (`decidesLayersAlone`)
/// compresses that layer as a capture of its own and is measured on it, runs in parallel. Runs
/// sharing a first stage plan it once per layer. Memory stays near one layer's K/V.
///
/// Other runs (ARKV, Task-KV, random eviction, byte budgets) need the whole capture: it is read
/// at once, those runs are compressed over it first, and measured layer by layer the same way.
/// Either way the numbers equal `RunEvaluation.evaluate`'s.
public struct SweepEvaluation: Sendable {
    public var topK: Int
    public var pageSize: Int
    public var detail: RunEvaluation.Detail
    public var backend: any ProbeAttentionBackend
    /// Compress every run over the whole capture and prepare its cache once, runs one at a time
    /// (a GPU backend uploads each run's cache once and has one queue). The capture is held in
    /// memory.
    public var wholeCapture: Bool

    public init(topK: Int, pageSize: Int = 16, detail: RunEvaluation.Detail = .summary,
                backend: any ProbeAttentionBackend = CPUProbeAttention(), wholeCapture: Bool = false) {
        self.topK = topK
        self.pageSize = pageSize
        self.detail = detail
        self.backend = backend
        self.wholeCapture = wholeCapture
    }

    /// The results of `runs` (runs of this capture), in their order.
    /// - Throws: `EvalError.noProbes` (before any work when a sequence has no probe positions),
    ///   `.captureRead` when a layer cannot be read.
    public func evaluate<Source: CaptureSource>(_ runs: [SweepPlan.Run], source: Source, name: String,
                                                progress: @escaping @Sendable (SweepProgress) -> Void = { _ in }) throws(EvalError) -> [RunResult] {
        func read<T>(_ body: () throws(Source.ReadError) -> T) throws(EvalError) -> T {
            do { return try body() } catch { throw .captureRead(error.description) }
        }
        let m = source.model
        var sequences: [(id: String, positions: SequencePositions)] = []
        for s in 0..<source.sequenceCount { sequences.append(try read { () throws(Source.ReadError) in try source.sequence(at: s) }) }
        guard sequences.allSatisfy({ !$0.positions.probes.isEmpty }) else { throw .noProbes(capture: name) }
        var accumulators = runs.map {
            RunAccumulator(run: $0, model: m, promptTokens: sequences.map(\.positions.tokens.count), detail: detail)
        }
        var pipelines: [PolicyPipeline?] = []
        for (i, run) in runs.enumerated() {
            switch Self.pipeline(run, model: m, sequences: sequences.map(\.positions)) {
            case .success(let p):
                pipelines.append(p)
                accumulators[i].ran = p.description
                accumulators[i].warn(p.warnings)
            case .failure(let failure):
                accumulators[i].fail(failure)
                pipelines.append(nil)
            }
        }
        let streamed = runs.indices.filter { !wholeCapture && pipelines[$0]?.decidesLayersAlone == true }
        let whole = runs.indices.filter { pipelines[$0] != nil && !streamed.contains($0) }
        guard !streamed.isEmpty || !whole.isEmpty else { return accumulators.map { $0.result() } }

        var capture: Capture?
        var compressed: [Int: (cache: CompressedCache, prepared: any PreparedProbeAttention)] = [:]
        if !whole.isEmpty {
            let all = try read { () throws(Source.ReadError) in try source.wholeCapture() }
            capture = all
            for (i, made) in compressWhole(whole.map { pipelines[$0]! }, capture: all, name: name, progress: progress) {
                switch made.flatMap({ c in Self.prepare(c.cache, on: backend).map { (c, $0) } }) {
                case .success(let (c, prepared)):
                    compressed[whole[i]] = (c.cache, prepared)
                    accumulators[whole[i]].warn(c.warnings)
                case .failure(let failure): accumulators[whole[i]].fail(failure)
                }
            }
        }
        let total = sequences.count * m.layerCount
        progress(SweepProgress(phase: "\(name): reference and \(runs.count) runs, layer by layer", done: 0, total: total))
        for (s, seq) in sequences.enumerated() {
            for l in 0..<m.layerCount {
                let layer: LayerCapture
                if let capture { layer = capture.sequences[s].layers[l] } else {
                    layer = try read { () throws(Source.ReadError) in try source.layer(l, ofSequence: s) }
                }
                guard let probeQueries = layer.probeQueries else { throw .noProbes(capture: "\(name) (sequence \(seq.id), layer \(l))") }
                let probes = probeQueries.floats()
                let window = m.layerKinds[l].windowSize
                var layers = [RunLayer?](repeating: nil, count: runs.count)
                let live = streamed.filter { accumulators[$0].failure == nil }
                if !live.isEmpty {
                    let slice: Capture
                    do {
                        slice = try Capture(layer: layer, index: l, of: m, sequence: seq.id, positions: seq.positions)
                    } catch {
                        throw .captureRead("\(name): sequence \(seq.id), layer \(l): \(error)")
                    }
                    for (i, r) in layerRuns(live.map { pipelines[$0]! }, slice: slice, sequence: s, layer: l, probes: probes) {
                        switch r {
                        case .success(let made):
                            layers[live[i]] = made.layer
                            accumulators[live[i]].warn(made.warnings)
                        case .failure(let failure): accumulators[live[i]].fail(failure)
                        }
                    }
                }
                for i in whole where accumulators[i].failure == nil {
                    let c = compressed[i]!
                    switch RunLayer.measure(heads: c.cache.sequences[s].layers[l], prepared: c.prepared, sequence: s, layer: l, reportedLayer: l,
                                            probes: probes, probePositions: seq.positions.probes, window: window, tokenPositions: seq.positions.tokens) {
                    case .success(let layer): layers[i] = layer
                    case .failure(let failure): accumulators[i].fail(failure)
                    }
                }
                let rows = try referenceRows(layer, probes: probes, positions: seq.positions, window: window, runs: layers,
                                             name: name, layerIndex: l)
                for i in runs.indices {
                    if let layer = layers[i] {
                        accumulators[i].add(layer: l, tokens: seq.positions.tokens.count, probes: probes.tokens, layer, rows: rows[i])
                    }
                }
                progress(SweepProgress(phase: "\(name): reference and \(runs.count) runs, layer by layer", done: s * m.layerCount + l + 1,
                                       total: total))
            }
        }
        return accumulators.map { $0.result() }
    }

    /// The dense reference of one layer, one KV head at a time, measured against every run: `[run][row]`.
    func referenceRows(_ layer: LayerCapture, probes: HeadTensor<Float>, positions: SequencePositions, window: Int?, runs: [RunLayer?],
                       name: String, layerIndex l: Int) throws(EvalError) -> [[ProbeRow]] {
        var rows = [[ProbeRow]](repeating: [], count: runs.count)
        do {
            let mask = try AttentionMask(keyPositions: positions.tokens, queryPositions: positions.probes, window: window)
            for h in 0..<layer.keys.heads {
                let block = try ReferenceBlock.dense(layer, probes: probes, kvHead: h, mask: mask)
                let measured = block.measure(runs, queryHeads: probes.heads, probes: probes.tokens, topK: topK)
                for i in runs.indices { rows[i] += measured[i] }
            }
        } catch {
            throw .noProbes(capture: "\(name) (layer \(l): \(error))")
        }
        return rows
    }

    /// A run's pipeline fitted to the capture (`PolicyPipeline.resolved`), or why it cannot run.
    static func pipeline(_ run: SweepPlan.Run, model: ModelFacts, sequences: [SequencePositions]) -> Result<PolicyPipeline, RunFailure> {
        do {
            return .success(try PolicyPipeline(parsing: run.policy).resolved(for: model, sequences: sequences))
        } catch {
            return .failure(RunFailure(error.description))
        }
    }

    /// A whole-capture run's cache and what its stages adapted.
    typealias Compressed = (cache: CompressedCache, warnings: [String])

    /// Compresses each (resolved) pipeline over the whole capture, in parallel unless
    /// `wholeCapture` asks for one at a time: `(index into pipelines, result)`.
    func compressWhole(_ pipelines: [PolicyPipeline], capture: Capture, name: String,
                       progress: @escaping @Sendable (SweepProgress) -> Void) -> [(Int, Result<Compressed, RunFailure>)] {
        let phase = "\(name): compressing \(pipelines.count) runs that need the whole capture"
        let state = Mutex((results: [Result<Compressed, RunFailure>?](repeating: nil, count: pipelines.count), done: 0))
        let one: @Sendable (Int) -> Void = { i in
            let r = Self.compress(pipelines[i], capture: capture, pageSize: pageSize)
            let done = state.withLock { s in
                s.results[i] = r
                s.done += 1
                return s.done
            }
            progress(SweepProgress(phase: phase, done: done, total: pipelines.count))
        }
        progress(SweepProgress(phase: phase, done: 0, total: pipelines.count))
        if wholeCapture {
            for i in pipelines.indices { one(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: pipelines.count, execute: one)
        }
        return state.withLock { s in s.results.enumerated().map { ($0, $1!) } }
    }

    /// A resolved pipeline's cache over `capture`.
    static func compress(_ pipeline: PolicyPipeline, capture: Capture, pageSize: Int) -> Result<Compressed, RunFailure> {
        do {
            let plan = try pipeline.plan(capture, pageSize: pageSize)
            return .success((try plan.build(capture, policy: pipeline.description), plan.warnings))
        } catch {
            return .failure(RunFailure(error.description))
        }
    }

    /// `cache` readied on `backend` for the probes.
    static func prepare(_ cache: CompressedCache, on backend: any ProbeAttentionBackend) -> Result<any PreparedProbeAttention, RunFailure> {
        do {
            return .success(try backend.prepare(cache))
        } catch {
            return .failure(RunFailure("the \(backend.name) backend refused the cache: \(error)"))
        }
    }

    /// Compresses the one-layer capture `slice` (layer `l` of sequence `s`) with each (resolved)
    /// pipeline and measures the probes over it; pipelines with the same first stage plan it
    /// once. Groups run in parallel: `(index into pipelines, result)`.
    func layerRuns(_ pipelines: [PolicyPipeline], slice: Capture, sequence s: Int, layer l: Int,
                   probes: HeadTensor<Float>) -> [(Int, Result<(layer: RunLayer, warnings: [String]), RunFailure>)] {
        var grouping: [[Int]] = [], byFirst: [String: Int] = [:]
        for (i, p) in pipelines.enumerated() {
            let key = p.stages.first.map { $0.spec.description } ?? ""
            if let g = byFirst[key] { grouping[g].append(i) } else {
                byFirst[key] = grouping.count
                grouping.append([i])
            }
        }
        let groups = grouping
        let results = Mutex([Result<(layer: RunLayer, warnings: [String]), RunFailure>?](repeating: nil, count: pipelines.count))
        let seq = slice.sequences[0]
        DispatchQueue.concurrentPerform(iterations: groups.count) { g in
            let group = groups[g]
            var shared: Result<CompressionPlan, PolicyError>?
            if group.count > 1, !pipelines[group[0]].stages.isEmpty {
                let first = pipelines[group[0]].stages(0..<1)
                shared = Result { () throws(PolicyError) in try first.plan(slice, pageSize: pageSize) }
            }
            for i in group {
                let pipeline = pipelines[i]
                let r = Result { () throws(PolicyError) -> CompressionPlan in
                    guard let shared else { return try pipeline.plan(slice, pageSize: pageSize) }
                    return try pipeline.stages(1..<pipeline.stages.count).plan(slice, pageSize: pageSize, continuing: try shared.get())
                }.flatMap { plan in
                    Result { () throws(PolicyError) in (try plan.build(slice, policy: pipeline.description), plan.warnings) }
                }
                let measured: Result<(layer: RunLayer, warnings: [String]), RunFailure>
                switch r {
                case .failure(let error):
                    measured = .failure(RunFailure(error.relocated(sequence: s, layer: l).description))
                case .success(let (cache, warnings)):
                    measured = Self.prepare(cache, on: backend).flatMap { prepared in
                        RunLayer.measure(heads: cache.sequences[0].layers[0], prepared: prepared, sequence: 0, layer: 0, reportedLayer: l,
                                         probes: probes, probePositions: seq.positions.probes,
                                         window: slice.model.layerKinds[0].windowSize, tokenPositions: seq.positions.tokens)
                    }.map { ($0, warnings) }
                }
                results.withLock { $0[i] = measured }
            }
        }
        return results.withLock { all in all.enumerated().map { ($0, $1!) } }
    }
}

extension PolicyError {
    /// This error as a pass over the whole capture reports it, for one raised on the one-layer
    /// capture of layer `l` of sequence `s`.
    func relocated(sequence s: Int, layer l: Int) -> PolicyError {
        switch self {
        case .budgetNotMet(let stage, _, _, let head, let kept, let expected):
            return .budgetNotMet(stage: stage, sequence: s, layer: l, head: head, kept: kept, expected: expected)
        case .layout(.emptyHead(_, _, let head)):
            return .layout(.emptyHead(sequence: s, layer: l, head: head))
        default:
            return self
        }
    }
}
