import Foundation
import KVPack
import KVPackModel
import KVPackPolicies

/// Long-context retrieval with the model in the loop, in the form of RULER's single-needle task:
/// for each task the prompt (instructions, filler with the needle, question) runs densely once;
/// the dense session answers greedily (the ceiling), and each policy compresses the same dense
/// prompt at its end, question included (`CacheSession.prefill`, as kvpress compresses with the
/// question in the prompt), then answers greedily through its compressed session, its decode
/// stages acting after each token. An answer is correct when it holds the needle's value.
///
/// ```swift
/// let retrieval = try NeedleRetrieval(model: try FidelityModel(file: GGUFFile(contentsOf: path)),
///                                     settings: try RetrievalSettings(contexts: [1024, 4096], samples: 2))
/// let tasks = try retrieval.tasks(filler: FillerText(gplText))
/// let plan = try SweepPlan(captures: 1, templates: ["snapkv"], budgets: ["0.25"])
/// let (dense, runs) = try retrieval.evaluate(plan.runs, tasks: tasks)
/// ```
public struct NeedleRetrieval: Sendable {
    public let model: FidelityModel
    public let settings: RetrievalSettings

    /// What an evaluation reports while it runs.
    public enum Progress: Sendable {
        /// Task `task` (0-based) of `tasks`: its dense prompt and answer took `seconds`.
        case reference(task: Int, tasks: Int, context: Int, seconds: Double)
        /// Run `run` (0-based) of `runs` on task `task` took `seconds`.
        case run(task: Int, run: Int, runs: Int, seconds: Double)
    }

    /// - Throws: `RetrievalError.beyondTrainedContext` for a context past the model's trained
    ///   context when `force` is false.
    public init(model: FidelityModel, settings: RetrievalSettings, force: Bool = false) throws(RetrievalError) {
        if let trained = model.trainedContext, !force, let c = settings.contexts.first(where: { $0 > trained }) {
            throw .beyondTrainedContext(context: c, trained: trained, model: model.model.hyperparameters.name)
        }
        self.model = model
        self.settings = settings
    }

    /// Every task, contexts outermost, then depths, then samples.
    /// - Throws: `RetrievalError.noFiller`, `.contextTooShort`, `.tokenizer`.
    public func tasks(filler: FillerText, fillerName: String = "the text") throws(RetrievalError) -> [NeedleTask] {
        let generator = try NeedleTaskGenerator(filler: filler, fillerName: fillerName, tokenizer: model.tokenizer, seed: settings.seed,
                                                answerTokens: settings.answerTokens)
        var tasks: [NeedleTask] = []
        for c in settings.contexts {
            for d in settings.depths {
                for s in 0..<settings.samples { tasks.append(try generator.task(context: c, depth: d, sample: s)) }
            }
        }
        return tasks
    }

    /// Answers every task densely and with every run (runs in plan order). A run whose policy
    /// refuses a prompt reports its error and the others go on.
    /// - Throws: `RetrievalError.model` when the dense run itself fails.
    public func evaluate(_ runs: [SweepPlan.Run], tasks: [NeedleTask], progress: (Progress) -> Void = { _ in })
        throws(RetrievalError) -> (reference: RetrievalRunResult, runs: [RetrievalRunResult]) {
        let pool: PagePool
        do throws(PoolError) {
            pool = try PagePool(.init(budgetBytes: 1 << 40, headDim: model.model.hyperparameters.headDim, pageSize: settings.pageSize,
                                      name: "retrieval"))
        } catch {
            throw .model(.session(.pool(error)))
        }
        var dense = RetrievalTally(), tallies = [RetrievalTally](repeating: RetrievalTally(), count: runs.count)
        for (t, task) in tasks.enumerated() {
            let start = ContinuousClock.now
            let (prompt, first) = try reference(task, pool: pool, tally: &dense)
            progress(.reference(task: t, tasks: tasks.count, context: task.context, seconds: (ContinuousClock.now - start).seconds))
            for (r, run) in runs.enumerated() where tallies[r].error == nil {
                let runStart = ContinuousClock.now
                do {
                    let session = try model.model.makeSession(pool: pool, policy: try PolicyPipeline(parsing: run.policy))
                    defer { session.close() }
                    try session.prefill(prompt)
                    tallies[r].add(try answer(task, first: first, session: session), session: session)
                } catch {
                    tallies[r].error = "\(error)"
                }
                progress(.run(task: t, run: r, runs: runs.count, seconds: (ContinuousClock.now - runStart).seconds))
            }
        }
        return (dense.result(run: nil), runs.indices.map { tallies[$0].result(run: runs[$0]) })
    }

    /// The task's dense run: the prompt through `LanguageModel.prefill` into a dense session that
    /// records it, the token its last position predicts, and the dense answer (added to `tally`).
    func reference(_ task: NeedleTask, pool: PagePool, tally: inout RetrievalTally) throws(RetrievalError) -> (SessionPrompt, Int) {
        let recorder = PromptRecorder()
        let session: CacheSession, first: Int
        do throws(ModelError) {
            session = try model.model.makeSession(pool: pool, policy: recorder)
        } catch {
            throw .model(error)
        }
        defer { session.close() }
        do throws(ModelError) {
            let hidden = try model.model.prefill(task.tokens, session: session, window: settings.window)
            first = try model.model.logits(hidden, rows: hidden.tokens - 1..<hidden.tokens).argmax(row: 0)
        } catch {
            throw .model(error)
        }
        guard let prompt = recorder.prompt else { throw .model(.noTokens) } // a non-empty prefill always records
        tally.add(try answer(task, first: first, session: session), session: session)
        return (prompt, first)
    }

    /// The greedy answer through `session`, prefilled with the task's prompt: `first` (what the
    /// prompt's last position predicts, the same for every run: compression acts after the
    /// prompt), then one token per forward call until the value appears in the text, EOS comes,
    /// or `answerTokens` are generated.
    func answer(_ task: NeedleTask, first: Int, session: CacheSession) throws(RetrievalError) -> NeedleAnswer {
        var tokens = [first]
        while true {
            let text: String
            do throws(TokenizerError) { text = try model.tokenizer.decode(tokens) } catch { throw .tokenizer(error) }
            let correct = task.isAnswered(by: text)
            if correct || tokens.last == model.tokenizer.eosTokenID || tokens.count >= settings.answerTokens {
                return NeedleAnswer(text: text, tokens: tokens.count, correct: correct)
            }
            do throws(ModelError) {
                let hidden = try model.model.forward([tokens.last!], startingAt: task.tokens.count + tokens.count - 1, session: session)
                tokens.append(try model.model.logits(hidden, rows: 0..<1).argmax(row: 0))
            } catch {
                throw .model(error)
            }
        }
    }
}

/// One run's answers and bytes as the tasks go by.
struct RetrievalTally {
    var answers: [NeedleAnswer] = []
    var bytes = 0, denseBytes = 0
    var error: String?

    mutating func add(_ answer: NeedleAnswer, session: CacheSession) {
        answers.append(answer)
        bytes += session.byteCount
        denseBytes += session.denseByteCount
    }

    func result(run: SweepPlan.Run?) -> RetrievalRunResult {
        RetrievalRunResult(run: run, bytes: bytes, denseBytes: denseBytes, answers: error == nil ? answers : nil, error: error)
    }
}
