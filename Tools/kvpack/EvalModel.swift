import ArgumentParser
import Foundation
import KVPack
import KVPackEval
import KVPackModel

/// The options of `kvpack eval --model`: next-token fidelity with the model runtime in the loop.
struct FidelityOptions: ParsableArguments {
    @Option(help: "Measure next-token fidelity with this model in the loop instead of probe attention on captures: smollm2, gemma3-270m, or a GGUF file.")
    var model: String?
    @Option(help: "With --model: the text whose chunks run (default \(Self.defaultText), the shipped captures' text).")
    var text: String?
    @Option(help: "With --model: prompt tokens per chunk, run densely and compressed at their end (default \(Self.defaultContext)).")
    var context: Int?
    @Option(help: "With --model: teacher-forced tokens per chunk decoded through the compressed session and compared (default \(Self.defaultContinuation)).")
    var continuation: Int?
    @Option(help: "With --model: chunks of the text, end to end from its start (default \(Self.defaultChunks)).")
    var chunks: Int?
    @Option(help: "With --model: observation-window queries handed to the policies at prefill.")
    var window = 32
    @Flag(help: "With --model: run a context + continuation beyond the model's trained context length.")
    var force = false

    static let defaultText = "/usr/share/common-licenses/GPL-3"
    static let defaultContext = 1024
    static let defaultContinuation = 64
    static let defaultChunks = 2

    /// Options given that only `--model` uses, by flag name.
    var modelOnlyOptionsGiven: [String] {
        [("--text", text != nil), ("--context", context != nil), ("--continuation", continuation != nil), ("--chunks", chunks != nil),
         ("--window", window != 32), ("--force", force)].filter(\.1).map(\.0)
    }
}

extension EvalRun {
    /// `--model`: the next-token fidelity sweep over the text's chunks.
    func runFidelity(_ modelArgument: String) throws {
        let started = ContinuousClock.now
        let o = fidelity
        let settings = try FidelitySettings(context: o.context ?? FidelityOptions.defaultContext,
                                            continuation: o.continuation ?? FidelityOptions.defaultContinuation,
                                            chunks: o.chunks ?? FidelityOptions.defaultChunks, window: o.window, pageSize: pageSize)
        let budgetList = (budgets ?? SweepPlan.defaultBudgets.joined(separator: ",")).split(separator: ",")
            .map { String($0).trimmingCharacters(in: .whitespaces) }
        let templates = policies.isEmpty ? SweepPlan.defaultTemplates : policies
        let plan = try SweepPlan(captures: 1, templates: templates, budgets: budgetList)
        if budgets != nil && plan.runs.allSatisfy({ $0.keep == nil }) {
            warn("--budgets is not used: every policy gives keep= or takes no budget")
        }
        let part = try shard.map { s throws(EvalError) in try Shard(parsing: s) }
        let runs = plan.runs.filter { part?.contains($0.index) ?? true }
        let textPath = o.text ?? FidelityOptions.defaultText
        guard FileManager.default.fileExists(atPath: textPath) else { throw ReportDirectoryError.notFound(textPath) }
        let text: String
        do { text = try String(contentsOfFile: textPath, encoding: .utf8) } catch {
            throw ValidationError("cannot read --text \(textPath) as UTF-8: \(error.localizedDescription)")
        }
        let modelPath = try ModelArgument.path(modelArgument)
        let file: GGUFFile
        do throws(GGUFError) { file = try GGUFFile(contentsOf: modelPath) } catch { throw ModelError.file(error) }
        let loaded = try Progress.during("loading \(modelArgument)") { try FidelityModel(file: file) }
        let fidelity = try NextTokenFidelity(model: loaded, settings: settings, force: o.force)
        let tokens = try loaded.tokenize(text)
        let chunks = try TextChunks(tokens: tokens, settings: settings, bos: loaded.chunkStart)
        // Checked once every input is known good, before the runs.
        let directory = try output.out.map { d throws(ReportDirectoryError) in try ReportDirectory(d, inputs: [textPath, modelPath]) }
        var progress = Progress("eval --model \(modelArgument)", total: settings.chunks * (runs.count + 1))
        var done = 0
        let results = try fidelity.evaluate(runs, chunks: chunks) { _ in
            done += 1
            progress.update(done)
        }
        progress.finish()
        let hp = loaded.model.hyperparameters
        let report = FidelityReport(
            kvpackVersion: KVPackVersion.string,
            model: .init(name: hp.name, file: (modelPath as NSString).lastPathComponent, architecture: hp.architecture.rawValue,
                         vocabularySize: hp.vocabularySize, trainedContext: loaded.trainedContext),
            text: .init(file: (textPath as NSString).lastPathComponent, tokens: tokens.count),
            settings: settings, templates: templates, budgets: budgetList, totalRuns: plan.runs.count, shard: part, runs: results)
        let seconds = (ContinuousClock.now - started).seconds
        FileHandle.standardError.write(Data("kvpack: eval --model: \(runs.count) runs x \(settings.chunks) chunks in \(String(format: "%.1f", seconds)) s\n".utf8))
        try output.emit(report, to: directory)
    }
}

extension ReportOutput {
    /// Prints the fidelity table (or JSON) and writes the report directory; failed runs are
    /// counted, and the exit code is 65 when every run failed.
    func emit(_ report: FidelityReport, to directory: ReportDirectory?) throws {
        if let directory { try directory.write(files: report.files) }
        if json {
            FileHandle.standardOutput.write(report.json())
        } else {
            // Unbuffered, so the table and the warnings after it keep their order on one terminal.
            var text = FidelityTable.terminal(report)
            if let directory { text += "report: \(directory.path)/report.md (and .json, .csv, kld-vs-memory plot)\n" }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        let failed = report.runs.filter { $0.error != nil }
        if !failed.isEmpty {
            FileHandle.standardError.write(Data("kvpack: warning: \(failed.count) of \(report.runs.count) runs failed; see the table\n".utf8))
            if failed.count == report.runs.count { throw ExitCode(65) }
        }
    }
}
