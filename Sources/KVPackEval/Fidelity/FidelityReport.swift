import Foundation

/// A next-token fidelity evaluation's results as JSON: the model, the text, the settings and each
/// run's figures. Nothing in it depends on time or machine, so the same command gives the same
/// JSON.
public struct FidelityReport: ShardedReport, Hashable {
    public struct ModelInfo: Sendable, Hashable, Codable {
        /// `general.name`, the GGUF file's name (not its path), and its architecture.
        public var name: String
        public var file: String
        public var architecture: String
        public var vocabularySize: Int
        /// `<architecture>.context_length`, when the file gives it.
        public var trainedContext: Int?

        public init(name: String, file: String, architecture: String, vocabularySize: Int, trainedContext: Int?) {
            self.name = name
            self.file = file
            self.architecture = architecture
            self.vocabularySize = vocabularySize
            self.trainedContext = trainedContext
        }
    }

    public struct TextInfo: Sendable, Hashable, Codable {
        /// The text file's name (not its path) and its token count under the model's tokenizer.
        public var file: String
        public var tokens: Int

        public init(file: String, tokens: Int) {
            self.file = file
            self.tokens = tokens
        }
    }

    public var kvpackVersion: String
    public var model: ModelInfo
    public var text: TextInfo
    public var settings: FidelitySettings
    /// The policy templates and budgets the runs were expanded from.
    public var templates: [String]
    public var budgets: [String]
    /// Runs in the whole sweep; `runs` holds those of `shard` (all when nil).
    public var totalRuns: Int
    public var shard: Shard?
    public var runs: [FidelityRunResult]

    public init(kvpackVersion: String, model: ModelInfo, text: TextInfo, settings: FidelitySettings, templates: [String], budgets: [String],
                totalRuns: Int, shard: Shard?, runs: [FidelityRunResult]) {
        self.kvpackVersion = kvpackVersion
        self.model = model
        self.text = text
        self.settings = settings
        self.templates = templates
        self.budgets = budgets
        self.totalRuns = totalRuns
        self.shard = shard
        self.runs = runs
    }
}

extension FidelityReport {
    public static func index(of run: FidelityRunResult) -> Int { run.run.index }

    public func mismatch(with other: FidelityReport) -> String? {
        if model != other.model || text != other.text { return "models or texts" }
        if settings != other.settings || templates != other.templates || budgets != other.budgets { return "policies, budgets or settings" }
        return nil
    }
}
