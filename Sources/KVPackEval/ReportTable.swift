import Foundation
import KVPack

/// The report as text: a terminal table, Markdown and CSV, one row per run.
public enum ReportTable {
    static let header = ["policy", "memory", "tokens", "rel-L2 mean", "p95", "max", "cosine", "mass recall", "top-k"]

    static func f(_ x: Double, _ digits: Int = 3) -> String { x.isNaN ? "-" : String(format: "%.\(digits)f", x) }

    static func cells(_ r: RunResult) -> [String] {
        if let e = r.error { return [r.policy, "failed: \(e)"] + Array(repeating: "", count: header.count - 2) }
        return [r.policy, f(r.memoryRatio), f(r.tokenShare), f(r.relativeL2.mean), f(r.relativeL2.p95), f(r.relativeL2.max),
                f(r.cosine.mean, 4), f(r.massRecall.mean), f(r.topKRecall.mean)]
    }

    /// Captures with runs: index, description, runs.
    static func grouped(_ report: EvalReport) -> [(index: Int, capture: EvalReport.CaptureInfo, runs: [RunResult])] {
        report.captures.enumerated().map { i, c in (i, c, report.runs.filter { $0.run.capture == i }) }.filter { !$0.runs.isEmpty }
    }

    static func title(_ c: EvalReport.CaptureInfo, _ report: EvalReport) -> String {
        "\(c.file) (\(c.model), \(c.tokens) tokens, \(c.probes) probes, \(c.layers) layers; sha256 \(c.sha256.prefix(12)))"
    }

    /// Columns padded for a terminal.
    public static func terminal(_ report: EvalReport) -> String {
        var out = ""
        for (_, c, runs) in grouped(report) {
            out += title(c, report) + "\n"
            let rows = [header] + runs.map(cells)
            // A failed run's message spans the metric columns; only the policy column counts it.
            let measured = rows.filter { !$0[1].hasPrefix("failed") }
            let widths = header.indices.map { i in (i == 0 ? rows : measured).map { $0[i].count }.max()! }
            for (k, row) in rows.enumerated() {
                if row[1].hasPrefix("failed") { out += "  " + row[0].padding(toLength: widths[0], withPad: " ", startingAt: 0) + "  " + row[1] + "\n"; continue }
                out += "  " + row.enumerated().map { i, cell in
                    i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[i] - cell.count) + cell
                }.joined(separator: "  ") + "\n"
                if k == 0 { out += "  " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
            }
            out += "\n"
        }
        out += "memory: compressed bytes (exact, metadata included) / the model's dense f16 KV cache; tokens: share of tokens kept;\n"
        out += "rel-L2, cosine: probe attention outputs vs dense; mass recall: dense attention mass on kept tokens;\n"
        out += "top-k: share of the dense top-\(report.settings.topK) tokens kept. Over every layer, query head and probe.\n"
        if report.settings.decode {
            out += "decode mode: probes decoded one by one through the compressed cache (policies' decode steps ran); memory and tokens\n"
            out += "are the cache after the last probe over dense prompt + probes; errors vs dense attention over the prompt and probes so far.\n"
        }
        return out
    }

    public static func markdown(_ report: EvalReport) -> String {
        var out = "# KVPack evaluation\n\nKVPack \(report.kvpackVersion); budgets \(report.settings.budgets.joined(separator: ", ")); "
        out += "top-k \(report.settings.topK); pages of \(report.settings.pageSize).\n\n"
        for (index, c, runs) in grouped(report) {
            out += "## " + title(c, report) + "\n\n"
            out += "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
            for r in runs { out += "| " + cells(r).map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
            out += "\n"
            let stem = ReportPlots.stem(report, capture: index)
            out += "![Attention error vs memory](error-vs-memory\(stem).svg)\n\n"
            if ReportPlots.layerHeatMap(report, capture: index) != nil { out += "![Attention error per layer](layers\(stem).svg)\n\n" }
        }
        out += "Memory: compressed bytes (exact, metadata included) / the model's dense f16 KV cache. Errors are over every layer, query head and probe.\n"
        let notes = report.runs.compactMap { r in r.warnings.map { (r.policy, $0) } }
        if !notes.isEmpty {
            out += "\nWarnings (what a policy adapted to the capture):\n\n"
            for (policy, lines) in notes { for line in lines { out += "- `\(policy)`: \(line)\n" } }
        }
        return out
    }

    public static func csv(_ report: EvalReport) -> String {
        var out = "capture,sha256,policy,template,keep,bytes,dense_bytes,memory_ratio,token_share,rel_l2_mean,rel_l2_p95,rel_l2_max,cosine_mean,mass_recall_mean,mass_recall_p95,top_k_recall_mean,error\n"
        func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        for r in report.runs {
            let c = report.captures[r.run.capture]
            let fields: [String] = [q(c.file), c.sha256, q(r.run.policy), q(r.run.template), r.run.keep ?? "", "\(r.bytes)", "\(r.denseBytes)",
                                    "\(r.memoryRatio)", "\(r.tokenShare)", "\(r.relativeL2.mean)", "\(r.relativeL2.p95)", "\(r.relativeL2.max)",
                                    "\(r.cosine.mean)", "\(r.massRecall.mean)", "\(r.massRecall.p95)", "\(r.topKRecall.mean)", q(r.error ?? "")]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }
}
