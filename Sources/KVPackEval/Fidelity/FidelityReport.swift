import Foundation

/// A next-token fidelity evaluation's results as JSON: the model, the text, the settings and each
/// run's figures. Nothing in it depends on time or machine, so the same command gives the same
/// JSON.
public struct FidelityReport: Sendable, Hashable, Codable {
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
    public var runs: [FidelityRunResult]

    public init(kvpackVersion: String, model: ModelInfo, text: TextInfo, settings: FidelitySettings, templates: [String], budgets: [String],
                runs: [FidelityRunResult]) {
        self.kvpackVersion = kvpackVersion
        self.model = model
        self.text = text
        self.settings = settings
        self.templates = templates
        self.budgets = budgets
        self.runs = runs
    }

    /// Pretty-printed JSON with sorted keys, newline-terminated.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try! encoder.encode(self) + Data("\n".utf8)
    }
}
