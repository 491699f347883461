import Foundation

/// A fidelity report as text, one row per run: a padded terminal table or Markdown.
public enum FidelityTable {
    static let header = ["policy", "memory", "KLD mean ± SE", "median", "p99", "max", "same top-1 %", "Δp %", "PPL ratio"]

    static func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }

    /// The run's cells, or its policy and why it failed.
    static func cells(_ r: FidelityRunResult) -> [String] {
        guard let s = r.summary else { return [r.run.policy, "failed: \(r.error ?? "")"] }
        return [r.run.policy, f(r.memoryRatio, 3), "\(f(s.meanKLD, 5)) ± \(f(s.meanKLDStandardError, 5))", f(s.medianKLD, 5), f(s.p99KLD, 4),
                f(s.maxKLD, 4), "\(f(100 * s.sameTop1, 1)) ± \(f(100 * s.sameTop1StandardError, 1))",
                "\(f(100 * s.meanDeltaProbability, 2)) ± \(f(100 * s.meanDeltaProbabilityStandardError, 2))", f(s.perplexityRatio, 4)]
    }

    static func title(_ report: FidelityReport) -> String {
        let s = report.settings
        return "\(report.model.name) (\(report.model.file)) on \(report.text.file) (\(report.text.tokens) tokens): \(s.chunks) chunk"
            + "\(s.chunks == 1 ? "" : "s") of \(s.context) context + \(s.continuation) continuation tokens"
    }

    static let legend = """
        memory: session bytes (page metadata included, so dense is a little over 1) / dense f16 bytes at the end of each chunk; KLD: KL(dense ‖ compressed) of the next-token \
        distributions, nats; same top-1: share of positions with the dense run's most likely token; Δp: mean change of the \
        reference token's probability; PPL ratio: compressed / dense perplexity of the continuation tokens.
        """

    /// Columns padded for a terminal, with a title and a legend.
    public static func terminal(_ report: FidelityReport) -> String {
        title(report) + "\n" + TerminalTable.render(header: header, rows: report.runs.map(cells)) + "\n" + legend + "\n"
    }

    /// One row per run, every summary figure (empty for a failed run, with its error).
    public static func csv(_ report: FidelityReport) -> String {
        let columns = ["index", "template", "policy", "keep", "memory_ratio", "bytes", "dense_bytes", "positions", "kld_mean", "kld_se", "kld_median",
                       "kld_p99", "kld_max", "same_top1", "same_top1_se", "delta_p_mean", "delta_p_se", "dense_ppl", "compressed_ppl",
                       "ppl_ratio", "ln_ppl_ratio", "ln_ppl_ratio_se", "error"]
        func quoted(_ x: String) -> String { x.contains(where: { ",\"\n".contains($0) }) ? "\"" + x.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : x }
        var out = columns.joined(separator: ",") + "\n"
        for r in report.runs {
            var row = ["\(r.run.index)", r.run.template, r.run.policy, r.run.keep ?? "", "\(r.memoryRatio)", "\(r.bytes)", "\(r.denseBytes)"]
            if let s = r.summary {
                row += ["\(s.positions)"] + [s.meanKLD, s.meanKLDStandardError, s.medianKLD, s.p99KLD, s.maxKLD, s.sameTop1, s.sameTop1StandardError,
                        s.meanDeltaProbability, s.meanDeltaProbabilityStandardError, s.densePerplexity, s.compressedPerplexity, s.perplexityRatio,
                        s.logPerplexityRatio, s.logPerplexityRatioStandardError].map { "\($0)" } + [""]
            } else {
                row += Array(repeating: "", count: 15) + [r.error ?? ""]
            }
            out += row.map(quoted).joined(separator: ",") + "\n"
        }
        return out
    }

    /// A Markdown document: title, table, legend.
    public static func markdown(_ report: FidelityReport) -> String {
        var out = "# Next-token fidelity\n\n" + title(report) + " (kvpack \(report.kvpackVersion)).\n\n"
        out += "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for r in report.runs {
            var row = cells(r).map { $0.replacingOccurrences(of: "|", with: "\\|") }
            row += Array(repeating: "", count: header.count - row.count)
            out += "| " + row.joined(separator: " | ") + " |\n"
        }
        return out + "\n" + legend + "\n"
    }
}
