import Foundation
import KVPack
import KVPackModel
import KVPackPolicies

/// Next-token fidelity with the model in the loop, as `llama-perplexity --kl-divergence` measures
/// it: for each chunk of a text, the prompt (`context` tokens) runs densely and each policy
/// compresses it at its end (`CacheSession.prefill`); then `continuation` teacher-forced tokens
/// decode one at a time through the compressed session, the policy's decode stages acting after
/// each step. Every step's next-token distribution is compared with the dense run's (computed
/// once per chunk, by the same decode through an uncompressed session): KL divergence, same
/// top-1, the reference token's probability, perplexity; and the session's bytes against dense.
///
/// ```swift
/// let fidelity = try NextTokenFidelity(model: try FidelityModel(file: GGUFFile(contentsOf: path)),
///                                      settings: try FidelitySettings(context: 1024, continuation: 64, chunks: 2))
/// let plan = try SweepPlan(captures: 1, templates: ["dense", "snapkv"], budgets: ["0.25"])
/// let results = try fidelity.evaluate(plan.runs, text: gplText)
/// ```
public struct NextTokenFidelity: Sendable {
    public let model: FidelityModel
    public let settings: FidelitySettings

    /// What an evaluation reports while it runs.
    public enum Progress: Sendable {
        /// The dense run of chunk `chunk` (0-based) of `chunks` finished in `seconds`.
        case reference(chunk: Int, chunks: Int, seconds: Double)
        /// Run `run` (0-based) of `runs` on chunk `chunk` finished in `seconds`.
        case run(chunk: Int, run: Int, runs: Int, seconds: Double)
    }

    /// - Throws: `FidelityError.beyondTrainedContext` when `context + continuation` reach past the
    ///   model's trained context and `force` is false.
    public init(model: FidelityModel, settings: FidelitySettings, force: Bool = false) throws(FidelityError) {
        if let trained = model.trainedContext, settings.chunkLength > trained, !force {
            throw .beyondTrainedContext(positions: settings.chunkLength, trained: trained, model: model.model.hyperparameters.name)
        }
        self.model = model
        self.settings = settings
    }

    /// Tokenizes `text` and cuts its chunks (each starting with BOS when the tokenizer adds one).
    /// - Throws: `FidelityError.textTooShort` (with the text's token count), `.tokenizer`.
    public func chunks(of text: String) throws(FidelityError) -> TextChunks {
        try TextChunks(tokens: try model.tokenize(text), settings: settings, bos: model.chunkStart)
    }

    /// Measures every run of a sweep plan on `chunks` (runs in plan order). A run whose policy
    /// refuses the prompt reports its error and the others go on.
    /// - Throws: `FidelityError.model` when the dense run itself fails.
    public func evaluate(_ runs: [SweepPlan.Run], chunks: TextChunks,
                         progress: (Progress) -> Void = { _ in }) throws(FidelityError) -> [FidelityRunResult] {
        let pool: PagePool
        do throws(PoolError) {
            pool = try PagePool(.init(budgetBytes: 1 << 40, headDim: model.model.hyperparameters.headDim, pageSize: settings.pageSize,
                                      name: "fidelity"))
        } catch {
            throw .model(.session(.pool(error)))
        }
        var comparisons = [[TokenComparison]](repeating: [], count: runs.count)
        var bytes = [Int](repeating: 0, count: runs.count), denseBytes = bytes
        var errors = [String?](repeating: nil, count: runs.count)
        for (c, tokens) in chunks.chunks.enumerated() {
            let start = ContinuousClock.now
            let reference: ChunkReference
            do throws(ModelError) {
                reference = try ChunkReference(model: model.model, tokens: tokens, settings: settings, pool: pool)
            } catch {
                throw .model(error)
            }
            progress(.reference(chunk: c, chunks: chunks.chunks.count, seconds: Self.seconds(since: start)))
            for (r, run) in runs.enumerated() where errors[r] == nil {
                let runStart = ContinuousClock.now
                do {
                    let outcome = try measure(run.policy, against: reference, pool: pool)
                    comparisons[r] += outcome.comparisons
                    bytes[r] += outcome.bytes
                    denseBytes[r] += outcome.denseBytes
                } catch {
                    errors[r] = "\(error)"
                }
                progress(.run(chunk: c, run: r, runs: runs.count, seconds: Self.seconds(since: runStart)))
            }
        }
        return runs.indices.map { r in
            FidelityRunResult(run: runs[r], bytes: bytes[r], denseBytes: denseBytes[r],
                              summary: errors[r] == nil ? FidelitySummary(comparisons[r]) : nil, error: errors[r])
        }
    }

    /// One policy on one chunk: a session prefilled with the chunk's dense prompt, then the
    /// continuation decoded through it and compared step by step.
    func measure(_ spec: String, against reference: ChunkReference, pool: PagePool) throws
        -> (comparisons: [TokenComparison], bytes: Int, denseBytes: Int) {
        let policy = try PolicyPipeline(parsing: spec)
        let session = try model.model.makeSession(pool: pool, policy: policy)
        defer { session.close() }
        try session.prefill(reference.prompt)
        var comparisons: [TokenComparison] = []
        comparisons.reserveCapacity(settings.continuation)
        try ChunkReference.decode(model: model.model, tokens: reference.tokens, settings: settings, session: session) { i, row in
            comparisons.append(reference.compare(step: i, with: row, context: settings.context))
        }
        return (comparisons, session.byteCount, session.denseByteCount)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
