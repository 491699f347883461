import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets
import KVPackEval
import KVPackPolicies
import KVPackVulkan
import Synchronization

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure what each policy costs in accuracy for the memory it saves.",
        discussion: """
            For each capture, policy and budget: compress the prompt's cache (the policy never sees the probes), then compare the probe queries' attention over the compressed cache with the dense one: memory ratio, output relative L2 (mean, p95, max), cosine, attention-mass recall and top-k recall.

              kvpack eval Datasets/samples/smollm2-135m-gpl3-2k.h5
              kvpack eval cap.h5 --policy snapkv --policy "streaming(sinks=4)" \\
                  --budgets 0.1,0.25 --out report/
              kvpack eval cap.h5 --shard 3/8 --json > part3.json
              kvpack eval merge part*.json --out report/

            With no --policy, every seed policy and baseline runs at the default budgets.

            With --model (and no captures), next-token fidelity with the model in the loop, as llama-perplexity --kl-divergence measures it: for each chunk of --text, the --context prompt tokens run densely and each policy compresses them at their end, then --continuation teacher-forced tokens decode one at a time through the compressed session (decode-time stages acting), compared with the dense run: KL divergence (mean ± SE, median, p99, max), same top-1, Δp of the reference token, perplexity ratio, memory ratio.

              kvpack eval --model smollm2 --context 1024 --continuation 64 --chunks 2 \\
                  --policy dense --policy snapkv --budgets 0.25,0.5

            With --model and --needle, long-context retrieval in the form of RULER's single-needle task: a 7-digit number stated once for a key at a --depths percentage of the --text filler (repeated as needed, cut at sentences), asked for at the end, in prompts of each --contexts length; the dense prompt runs once, each policy compresses it at its end (question included), and the answer decodes greedily through the compressed session; correct when it holds the number. Dense accuracy first (the ceiling), then each policy's accuracy and memory ratio; --out adds a depth x context heat map per policy.

              kvpack eval --model smollm2 --needle --contexts 1K,2K,4K,8K \\
                  --depths 0,25,50,75,100 --samples 2 --policy snapkv --out needle/
            """,
        subcommands: [EvalRun.self, EvalMerge.self], defaultSubcommand: EvalRun.self)
}

struct ReportOutput: ParsableArguments {
    @Option(help: "Write report.md, report.json, report.csv and plots (SVG, and PNG when rsvg-convert is installed) into this directory.")
    var out: String?
    @Flag(help: "Print the JSON report on standard output instead of the table.") var json = false
}

struct EvalRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a sweep (the default).")

    @Argument(help: "HDF5 captures with probe queries (none with --model).") var captures: [String] = []
    @Option(name: .customLong("policy"), help: "A policy spec; repeat for several. keep= may be left out: --budgets fill it in.")
    var policies: [String] = []
    @Option(help: "Budgets for specs without keep=, comma-separated: shares in (0, 1], token counts, or sizes like 4MiB (default \(SweepPlan.defaultBudgets.joined(separator: ","))).")
    var budgets: String?
    @Option(name: .customLong("top-k"), help: "k of the top-k recall.") var topK = 8
    @Option(name: .customLong("page-size"), help: "Tokens per page.") var pageSize = 16
    @Option(help: "Detail in JSON: summary, layers (per layer) or heads (per layer and query head).") var detail: RunEvaluation.Detail = .summary
    @Flag(help: "Decode the probes through the compressed cache one by one (PagedEviction evicts, ARKV re-tiers, Mustafar prunes as they would in a server) and compare each step with dense attention over the prompt and the probes so far.")
    var decode = false
    @Option(help: "Where the probes attend over the compressed cache: cpu, or vulkan (the GPU decode kernels, masked by position for sliding-window layers; with --decode, the live sessions' pages mirrored on the device; without a device, the CPU with a log line).")
    var backend: Backend = .cpu
    @Option(help: "Run part I of N of the sweep (0 <= I < N), for a cluster's job array; join with `kvpack eval merge`.")
    var shard: String?
    @OptionGroup var output: ReportOutput
    @OptionGroup(title: "Next-token fidelity (--model)") var fidelity: FidelityOptions
    @OptionGroup(title: "Long-context retrieval (--model --needle)") var needle: NeedleOptions

    func validate() throws {
        if fidelity.model != nil {
            if !captures.isEmpty {
                throw ValidationError(
                    "--model runs the model over --text and compares next-token predictions; captures are for the probe evaluation: give captures or --model, not both")
            }
            for (given, name) in [(decode, "--decode"), (backend != .cpu, "--backend"), (detail != .summary, "--detail"), (topK != 8, "--top-k")] where given {
                throw ValidationError("\(name) applies to the probe evaluation of captures, not to --model (which always decodes through the session on the CPU)")
            }
            if needle.needle {
                let fidelityOnly = [("--context", fidelity.context != nil), ("--continuation", fidelity.continuation != nil),
                                    ("--chunks", fidelity.chunks != nil), ("--shard", shard != nil)]
                if let name = fidelityOnly.first(where: \.1)?.0 {
                    throw ValidationError("\(name) applies to next-token fidelity, not to --needle (which takes --contexts, --depths and --samples)")
                }
            } else if let option = needle.needleOnlyOptionsGiven.first {
                throw ValidationError("\(option) needs --needle")
            }
            return
        }
        if needle.needle { throw ValidationError("--needle needs --model: it runs the model over needle tasks made from --text") }
        if let option = fidelity.modelOnlyOptionsGiven.first ?? needle.needleOnlyOptionsGiven.first { throw ValidationError("\(option) needs --model") }
        if captures.isEmpty { throw ValidationError("give at least one capture, or --model for next-token fidelity") }
        if topK < 1 { throw ValidationError("--top-k must be at least 1; got \(topK)") }
        if !(1...65535).contains(pageSize) { throw ValidationError("--page-size must be in 1...65535; got \(pageSize)") }
    }

    func run() throws {
        TemporaryFiles.installSignalCleanup()
        if let model = fidelity.model { return try failing { needle.needle ? try runNeedle(model) : try runFidelity(model) } }
        try failing {
            let budgetList = (budgets ?? SweepPlan.defaultBudgets.joined(separator: ",")).split(separator: ",")
                .map { String($0).trimmingCharacters(in: .whitespaces) }
            let templates = policies.isEmpty ? SweepPlan.defaultTemplates : policies
            let plan = try SweepPlan(captures: captures.count, templates: templates, budgets: budgetList)
            if budgets != nil && plan.runs.allSatisfy({ $0.keep == nil }) {
                warn("--budgets is not used: every policy gives keep= or takes no budget")
            }
            let part = try shard.map { s throws(EvalError) in try Shard(parsing: s) }
            let directory = try output.out.map { d throws(ReportDirectoryError) in try ReportDirectory(d, inputs: captures) }
            // Every capture opened and its probes checked before any work.
            var files: [CaptureFile] = []
            for path in captures {
                let file = try CaptureFile.open(path)
                for s in 0..<file.sequenceCount {
                    let positions = try file.sequence(at: s).positions
                    if positions.probes.isEmpty { throw EvalError.noProbes(capture: path) }
                    if topK > positions.tokens.count {
                        warn("--top-k \(topK) is more than the \(positions.tokens.count) prompt tokens of \(path); its top-k recall counts all of them")
                    }
                }
                files.append(file)
            }
            let runs = plan.runs.filter { part?.contains($0.index) ?? true }
            let detail = output.out != nil && self.detail == .summary ? .layers : self.detail
            let attention = backend == .vulkan ? Self.vulkanBackend() : nil
            var infos: [EvalReport.CaptureInfo] = [], results: [RunResult] = []
            for (c, file) in files.enumerated() {
                let mine = runs.filter { $0.capture == c }
                let described = Self.describeInBackground(file)
                if decode {
                    let sessions: any SessionAttendBackend = attention.map { VulkanSessionBackend(context: $0.context) } ?? CPUSessionBackend()
                    results += Self.evaluateDecode(mine, capture: try file.wholeCapture(), pageSize: pageSize, detail: detail, backend: sessions)
                } else if !mine.isEmpty {
                    let sweep = SweepEvaluation(topK: topK, pageSize: pageSize, detail: detail, backend: attention ?? CPUProbeAttention(),
                                                wholeCapture: attention != nil)
                    let progress = PhaseProgress()
                    results += try sweep.evaluate(mine, source: file, name: file.path, progress: progress.update)
                    progress.finish()
                }
                infos.append(try described())
            }
            let report = EvalReport(kvpackVersion: KVPackVersion.string, captures: infos,
                                    settings: .init(templates: templates, budgets: budgetList, topK: topK, pageSize: pageSize, detail: detail, decode: decode,
                                                    backend: attention.map { _ in "vulkan" } ?? "cpu"),
                                    totalRuns: plan.runs.count, shard: part, runs: results)
            try output.emit(report, to: directory)
        }
    }

    enum Backend: String, ExpressibleByArgument, Sendable { case cpu, vulkan }

    /// The Vulkan backend, or nil (with a log line) when there is no loader or device.
    static func vulkanBackend() -> VulkanProbeAttention? {
        do {
            let context = try VulkanContext()
            FileHandle.standardError.write(Data("kvpack: probes attend on \(context.device.name) (Vulkan), fp32 arithmetic\n".utf8))
            return VulkanProbeAttention(context: context)
        } catch {
            FileHandle.standardError.write(Data("kvpack: Vulkan unavailable (\(error)); using the CPU backend\n".utf8))
            return nil
        }
    }

    /// The capture's report entry (its SHA-256 streams over the whole file), computed on another
    /// thread while the sweep runs; the returned function waits for it.
    static func describeInBackground(_ file: CaptureFile) -> () throws(EvalError) -> EvalReport.CaptureInfo {
        let result = Mutex<Result<EvalReport.CaptureInfo, EvalError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let r = Result { () throws(EvalError) in
                var positions: [SequencePositions] = []
                for s in 0..<file.sequenceCount {
                    do throws(CaptureFileError) { positions.append(try file.sequence(at: s).positions) } catch { throw .captureRead(error.description) }
                }
                return try EvalReport.CaptureInfo(path: file.path, model: file.model, sequences: positions)
            }
            result.withLock { $0 = r }
            done.signal()
        }
        return { () throws(EvalError) in
            done.wait()
            return try result.withLock { $0! }.get()
        }
    }

    /// Decode mode: each run decodes the probes through its compressed cache over the whole capture,
    /// runs in parallel, results in sweep order.
    static func evaluateDecode(_ runs: [SweepPlan.Run], capture: Capture, pageSize: Int, detail: RunEvaluation.Detail,
                               backend: any SessionAttendBackend) -> [RunResult] {
        let state = Mutex((results: [RunResult?](repeating: nil, count: runs.count), progress: Progress("eval --decode", total: runs.count), done: 0))
        DispatchQueue.concurrentPerform(iterations: runs.count) { i in
            let r = RunEvaluation.evaluateDecode(runs[i], capture: capture, pageSize: pageSize, detail: detail, backend: backend)
            state.withLock {
                $0.results[i] = r
                $0.done += 1
                $0.progress.update($0.done)
            }
        }
        return state.withLock {
            $0.progress.finish()
            return $0.results.map { $0! }
        }
    }
}

struct EvalMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Join the JSON reports of a sharded sweep into the whole sweep's report.")

    @Argument(help: "JSON reports written by `kvpack eval --shard I/N --json` (or report.json from --out).") var parts: [String]
    @OptionGroup var output: ReportOutput

    func run() throws {
        TemporaryFiles.installSignalCleanup()
        try failing {
            let directory = try output.out.map { d throws(ReportDirectoryError) in try ReportDirectory(d, inputs: parts) }
            for p in parts where !FileManager.default.fileExists(atPath: p) { throw ReportDirectoryError.notFound(p) }
            // Parts of a `--model` (next-token fidelity) sweep.
            if let fidelity = try? parts.map({ p throws(EvalError) in try FidelityReport.read(p) }) {
                return try output.emit(try FidelityReport.merge(fidelity), to: directory)
            }
            var reports: [EvalReport] = []
            for p in parts { reports.append(try EvalReport.read(p)) }
            try output.emit(try EvalReport.merge(reports), to: directory)
        }
    }
}

extension ReportOutput {
    /// Prints the table (or JSON) and writes the report directory; failed runs are listed, and
    /// the exit code is 65 when every run failed.
    func emit(_ report: EvalReport, to directory: ReportDirectory?) throws {
        let written = try directory.map { d throws(ReportDirectoryError) in try d.write(report) } ?? []
        if json {
            FileHandle.standardOutput.write(report.json())
        } else {
            print(ReportTable.terminal(report), terminator: "")
            if let directory { print("report: \(directory.path)/report.md (and .json, .csv, plots)") }
            if directory != nil && !written.contains(where: { $0.hasSuffix(".png") }) {
                FileHandle.standardError.write(Data("kvpack: note: plots written as SVG only; install librsvg2-bin (rsvg-convert) for PNG\n".utf8))
            }
        }
        var warned: Set<String> = []
        for line in report.runs.flatMap({ $0.warnings ?? [] }) where warned.insert(line).inserted { warn(line) }
        let failed = report.runs.filter { $0.error != nil }
        if !failed.isEmpty {
            FileHandle.standardError.write(Data("kvpack: warning: \(failed.count) of \(report.runs.count) runs failed; see the table\n".utf8))
            if failed.count == report.runs.count { throw ExitCode(65) }
        }
    }
}

extension RunEvaluation.Detail: ExpressibleByArgument {}
