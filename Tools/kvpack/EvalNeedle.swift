import ArgumentParser
import Foundation
import KVPack
import KVPackEval
import KVPackModel

/// The options of `kvpack eval --model --needle`: long-context retrieval with the model in the
/// loop (RULER's single-needle task).
struct NeedleOptions: ParsableArguments {
    @Flag(help: "With --model: long-context retrieval (RULER's single needle: a 7-digit number for a key, hidden at a depth of the --text filler, asked for at the end and decoded greedily) instead of next-token fidelity.")
    var needle = false
    @Option(help: "With --needle: context lengths in tokens, prompt and answer together, comma-separated; K = 1024 (default 1K,2K,4K,8K).")
    var contexts: String?
    @Option(help: "With --needle: needle depths, percent of the filler before the needle, comma-separated (default 0,25,50,75,100).")
    var depths: String?
    @Option(help: "With --needle: tasks per context and depth, each with its own key, number and filler offset (default \(Self.defaultSamples)).")
    var samples: Int?
    @Option(help: "With --needle: seed of the tasks' keys, numbers and filler offsets.")
    var seed: UInt64 = 0
    @Option(name: .customLong("answer-tokens"), help: "With --needle: tokens generated at most per answer; each context keeps room for them.")
    var answerTokens = 12

    static let defaultSamples = 2

    /// Options given that only `--needle` uses, by flag name.
    var needleOnlyOptionsGiven: [String] {
        [("--contexts", contexts != nil), ("--depths", depths != nil), ("--samples", samples != nil), ("--seed", seed != 0),
         ("--answer-tokens", answerTokens != 12)].filter(\.1).map(\.0)
    }

    /// The settings these options give (`pageSize` and `window` from the shared options).
    func settings(window: Int, pageSize: Int) throws -> RetrievalSettings {
        try RetrievalSettings(contexts: try contexts.map { t throws(RetrievalError) in try RetrievalSettings.contexts(parsing: t) }
                                  ?? RetrievalSettings.defaultContexts,
                              depths: try depths.map { t throws(RetrievalError) in try RetrievalSettings.depths(parsing: t) }
                                  ?? RetrievalSettings.defaultDepths,
                              samples: samples ?? Self.defaultSamples, seed: seed, answerTokens: answerTokens, window: window, pageSize: pageSize)
    }
}

extension EvalRun {
    /// `--model --needle`: the needle-retrieval sweep.
    func runNeedle(_ modelArgument: String) throws {
        let started = ContinuousClock.now
        let settings = try needle.settings(window: fidelity.window, pageSize: pageSize)
        let plan = try modelSweepPlan()
        let inputs = try ModelSweepInputs(model: modelArgument, text: fidelity.text)
        let retrieval = try NeedleRetrieval(model: inputs.model, settings: settings, force: fidelity.force)
        let tasks = try Progress.during("making \(settings.taskCount) needle tasks") {
            try retrieval.tasks(filler: FillerText(inputs.text), fillerName: inputs.textName)
        }
        let fillerTokens = try inputs.model.tokenize(inputs.text).count
        // Checked once every input is known good, before the runs.
        let directory = try output.out.map { d throws(ReportDirectoryError) in try ReportDirectory(d, inputs: [inputs.textPath, inputs.modelPath]) }
        var progress = Progress("eval --needle \(modelArgument)", total: tasks.count * (plan.runs.count + 1))
        var done = 0, denseSeconds: [Int: Double] = [:], runSeconds = 0.0
        let (reference, results) = try retrieval.evaluate(plan.runs, tasks: tasks) { event in
            switch event {
            case .reference(_, _, let context, let seconds): denseSeconds[context, default: 0] += seconds
            case .run(_, _, _, let seconds): runSeconds += seconds
            }
            done += 1
            progress.update(done)
        }
        progress.finish()
        let report = RetrievalReport(
            kvpackVersion: KVPackVersion.string, model: inputs.modelInfo, filler: .init(file: inputs.textName, tokens: fillerTokens),
            settings: settings, templates: plan.templates, budgets: plan.budgets, tasks: tasks.map(\.summary), reference: reference, runs: results)
        let seconds = (ContinuousClock.now - started).seconds
        let dense = settings.contexts.map { "\(RetrievalSettings.label(context: $0)) \(String(format: "%.1f", denseSeconds[$0] ?? 0))" }
        FileHandle.standardError.write(Data("""
            kvpack: eval --needle: \(tasks.count) tasks x (dense + \(plan.runs.count) runs) in \(String(format: "%.1f", seconds)) s; \
            dense prompts and answers per context (s): \(dense.joined(separator: ", ")); policy runs \(String(format: "%.1f", runSeconds)) s

            """.utf8))
        try output.emit(report, to: directory)
    }
}

extension ReportOutput {
    /// Prints the retrieval table (or JSON) and writes the report directory; failed runs are
    /// counted, and the exit code is 65 when every run failed.
    func emit(_ report: RetrievalReport, to directory: ReportDirectory?) throws {
        try emit(files: RetrievalPlots.files(report), json: report.json(), table: RetrievalTable.terminal(report), extras: "heat maps per policy",
                 failed: report.runs.filter { $0.error != nil }.count, of: report.runs.count, to: directory)
    }
}
