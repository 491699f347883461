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
        let plan = try modelSweepPlan()
        let part = try shard.map { s throws(EvalError) in try Shard(parsing: s) }
        let runs = plan.runs.filter { part?.contains($0.index) ?? true }
        let inputs = try ModelSweepInputs(model: modelArgument, text: o.text)
        let loaded = inputs.model
        let fidelity = try NextTokenFidelity(model: loaded, settings: settings, force: o.force)
        let tokens = try loaded.tokenize(inputs.text)
        let chunks = try TextChunks(tokens: tokens, settings: settings, bos: loaded.chunkStart)
        // Checked once every input is known good, before the runs.
        let directory = try output.out.map { d throws(ReportDirectoryError) in try ReportDirectory(d, inputs: [inputs.textPath, inputs.modelPath]) }
        var progress = Progress("eval --model \(modelArgument)", total: settings.chunks * (runs.count + 1))
        var done = 0
        let results = try fidelity.evaluate(runs, chunks: chunks) { _ in
            done += 1
            progress.update(done)
        }
        progress.finish()
        let report = FidelityReport(
            kvpackVersion: KVPackVersion.string, model: inputs.modelInfo, text: .init(file: inputs.textName, tokens: tokens.count),
            settings: settings, templates: plan.templates, budgets: plan.budgets, totalRuns: plan.runs.count, shard: part, runs: results)
        let seconds = (ContinuousClock.now - started).seconds
        FileHandle.standardError.write(Data("kvpack: eval --model: \(runs.count) runs x \(settings.chunks) chunks in \(String(format: "%.1f", seconds)) s\n".utf8))
        try output.emit(report, to: directory)
    }
}

extension ReportOutput {
    /// Prints the fidelity table (or JSON) and writes the report directory; failed runs are
    /// counted, and the exit code is 65 when every run failed.
    func emit(_ report: FidelityReport, to directory: ReportDirectory?) throws {
        try emit(files: report.files, json: report.json(), table: FidelityTable.terminal(report), extras: "kld-vs-memory plot",
                 failed: report.runs.filter { $0.error != nil }.count, of: report.runs.count, to: directory)
    }

    /// Writes `files` into the report directory, prints `table` (or `json`), and warns of failed
    /// runs; exit code 65 when every run failed.
    func emit(files: [(name: String, data: Data)], json data: Data, table: String, extras: String, failed: Int, of runs: Int,
              to directory: ReportDirectory?) throws {
        if let directory { try directory.write(files: files) }
        if json {
            FileHandle.standardOutput.write(data)
        } else {
            // Unbuffered, so the table and the warnings after it keep their order on one terminal.
            var text = table
            if let directory { text += "report: \(directory.path)/report.md (and .json, .csv, \(extras))\n" }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        guard failed > 0 else { return }
        FileHandle.standardError.write(Data("kvpack: warning: \(failed) of \(runs) runs failed; see the table\n".utf8))
        if failed == runs { throw ExitCode(65) }
    }
}

extension EvalRun {
    /// The runs of a `--model` sweep: `--policy` templates (every seed policy and baseline when
    /// none) at `--budgets`.
    func modelSweepPlan() throws -> (runs: [SweepPlan.Run], templates: [String], budgets: [String]) {
        let budgetList = (budgets ?? SweepPlan.defaultBudgets.joined(separator: ",")).split(separator: ",")
            .map { String($0).trimmingCharacters(in: .whitespaces) }
        let templates = policies.isEmpty ? SweepPlan.defaultTemplates : policies
        let plan = try SweepPlan(captures: 1, templates: templates, budgets: budgetList)
        if budgets != nil && plan.runs.allSatisfy({ $0.keep == nil }) {
            warn("--budgets is not used: every policy gives keep= or takes no budget")
        }
        return (plan.runs, templates, budgetList)
    }
}

/// What `--model` sweeps read: the text (`--text`, default the GPL-3) and the model, loaded.
struct ModelSweepInputs {
    let textPath: String
    let text: String
    let modelPath: String
    let model: FidelityModel

    /// - Throws: `ReportDirectoryError.notFound` for a missing text, `ValidationError` for one
    ///   that is not UTF-8, `ModelLocatorError` / `ModelError` / `FidelityError` for the model.
    init(model argument: String, text path: String?) throws {
        textPath = path ?? FidelityOptions.defaultText
        guard FileManager.default.fileExists(atPath: textPath) else { throw ReportDirectoryError.notFound(textPath) }
        do { text = try String(contentsOfFile: textPath, encoding: .utf8) } catch {
            throw ValidationError("cannot read --text \(textPath) as UTF-8: \(error.localizedDescription)")
        }
        modelPath = try ModelArgument.path(argument)
        let file: GGUFFile
        do throws(GGUFError) { file = try GGUFFile(contentsOf: modelPath) } catch { throw ModelError.file(error) }
        model = try Progress.during("loading \(argument)") { try FidelityModel(file: file) }
    }

    /// The text's file name (reports name files, not paths).
    var textName: String { (textPath as NSString).lastPathComponent }

    /// The model as reports describe it.
    var modelInfo: FidelityReport.ModelInfo {
        let hp = model.model.hyperparameters
        return .init(name: hp.name, file: (modelPath as NSString).lastPathComponent, architecture: hp.architecture.rawValue,
                     vocabularySize: hp.vocabularySize, trainedContext: model.trainedContext)
    }
}
