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

    /// Pretty-printed JSON with sorted keys, newline-terminated.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try! encoder.encode(self) + Data("\n".utf8)
    }
}

extension FidelityReport {
    /// Reads a report written by `json()`.
    /// - Throws: `EvalError.unreadableReport` naming the file and why.
    public static func read(_ path: String) throws(EvalError) -> FidelityReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(FidelityReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadableReport(path: path, reason: "\(error)")
        }
    }

    /// Joins shards of one sweep into the whole sweep's report.
    /// - Throws: `EvalError.mergeMismatch` for parts of different sweeps, `.mergeIncomplete` for
    ///   missing or repeated runs.
    public static func merge(_ parts: [FidelityReport]) throws(EvalError) -> FidelityReport {
        guard let first = parts.first else { throw .mergeIncomplete(missing: [], duplicated: []) }
        for p in parts.dropFirst() {
            if p.kvpackVersion != first.kvpackVersion { throw .mergeMismatch("KVPack versions") }
            if p.model != first.model || p.text != first.text { throw .mergeMismatch("models or texts") }
            if p.settings != first.settings || p.templates != first.templates || p.budgets != first.budgets {
                throw .mergeMismatch("policies, budgets or settings")
            }
            if p.totalRuns != first.totalRuns { throw .mergeMismatch("sweep sizes") }
        }
        var seen: [Int: FidelityRunResult] = [:], duplicated: [Int] = []
        for r in parts.flatMap(\.runs) {
            if seen[r.run.index] != nil { duplicated.append(r.run.index) }
            seen[r.run.index] = r
        }
        let missing = (0..<first.totalRuns).filter { seen[$0] == nil }
        guard missing.isEmpty, duplicated.isEmpty else { throw .mergeIncomplete(missing: missing, duplicated: duplicated.sorted()) }
        var whole = first
        whole.shard = nil
        whole.runs = (0..<first.totalRuns).map { seen[$0]! }
        return whole
    }

    /// The report directory's files: Markdown, JSON, CSV, and mean KLD against memory ratio per
    /// policy (SVG).
    public var files: [(name: String, data: Data)] {
        [("report.md", Data(FidelityTable.markdown(self).utf8)), ("report.json", json()), ("report.csv", Data(FidelityTable.csv(self).utf8)),
         ("kld-vs-memory.svg", Data(klDivergenceVsMemory.svg().utf8))]
    }

    /// Mean KL divergence against memory ratio, one series per template (its budgets joined); the
    /// dense run's 0 has no place on the log scale.
    public var klDivergenceVsMemory: SVGChart {
        var order: [String] = [], points: [String: [(x: Double, y: Double)]] = [:]
        for r in runs {
            guard let s = r.summary else { continue }
            if points[r.run.template] == nil { order.append(r.run.template) }
            points[r.run.template, default: []].append((r.memoryRatio, s.meanKLD))
        }
        return SVGChart(title: "Next-token KL divergence vs memory: \(model.name), \(text.file)",
                        xLabel: "memory ratio (session / dense f16 bytes)", yLabel: "mean KLD, nats (log)",
                        series: order.map { SVGChart.Series(name: $0, points: points[$0]!) }, logY: true)
    }
}
