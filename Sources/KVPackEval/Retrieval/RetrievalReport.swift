import Foundation

/// A needle-retrieval evaluation's results as JSON: the model, the filler, the settings, every
/// task, the dense reference's answers and each run's. Nothing in it depends on time or machine,
/// so the same command gives the same JSON.
public struct RetrievalReport: Sendable, Hashable, Codable {
    public var kvpackVersion: String
    public var model: FidelityReport.ModelInfo
    /// The filler text's file name and its token count under the model's tokenizer.
    public var filler: FidelityReport.TextInfo
    public var settings: RetrievalSettings
    /// The policy templates and budgets the runs were expanded from.
    public var templates: [String]
    public var budgets: [String]
    /// Contexts outermost, then depths, then samples; answers follow this order.
    public var tasks: [NeedleTask.Summary]
    /// The dense model's answers: the ceiling of every policy.
    public var reference: RetrievalRunResult
    public var runs: [RetrievalRunResult]

    public init(kvpackVersion: String, model: FidelityReport.ModelInfo, filler: FidelityReport.TextInfo, settings: RetrievalSettings,
                templates: [String], budgets: [String], tasks: [NeedleTask.Summary], reference: RetrievalRunResult, runs: [RetrievalRunResult]) {
        self.kvpackVersion = kvpackVersion
        self.model = model
        self.filler = filler
        self.settings = settings
        self.templates = templates
        self.budgets = budgets
        self.tasks = tasks
        self.reference = reference
        self.runs = runs
    }

    /// The reference first, then the runs.
    public var allRuns: [RetrievalRunResult] { [reference] + runs }

    /// `run`'s accuracy over all tasks.
    public func accuracy(_ run: RetrievalRunResult) -> Double { run.accuracy(of: tasks) }

    /// `run`'s accuracy at one context (and depth, when given).
    public func accuracy(_ run: RetrievalRunResult, context: Int, depth: Double? = nil) -> Double {
        run.accuracy(of: tasks) { $0.context == context && (depth == nil || $0.depth == depth) }
    }

    /// Pretty-printed JSON with sorted keys, newline-terminated.
    public func json() -> Data { ReportJSON.encode(self) }

    /// Reads a report written as JSON.
    /// - Throws: `EvalError.unreadableReport` naming the file and why.
    public static func read(_ path: String) throws(EvalError) -> RetrievalReport { try ReportJSON.read(Self.self, from: path) }
}
