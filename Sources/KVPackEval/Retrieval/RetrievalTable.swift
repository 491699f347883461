import Foundation

/// A needle-retrieval report as text: one row per run (the dense reference first) with its
/// memory ratio, its accuracy over all tasks and per context; a padded terminal table, Markdown
/// (with the dense reference's depth × context table and the heat maps), or CSV per cell.
public enum RetrievalTable {
    static func header(_ report: RetrievalReport) -> [String] {
        ["policy", "memory", "accuracy %"] + report.settings.contexts.map(RetrievalSettings.label(context:))
    }

    static func percent(_ x: Double, _ digits: Int) -> String { x.isNaN ? "-" : String(format: "%.\(digits)f", 100 * x) }

    /// The run's cells, or its policy and why it failed.
    static func cells(_ r: RetrievalRunResult, in report: RetrievalReport) -> [String] {
        guard r.answers != nil else { return [r.name, "failed: \(r.error ?? "")"] }
        return [r.name, String(format: "%.3f", r.memoryRatio), percent(report.accuracy(r), 1)]
            + report.settings.contexts.map { percent(report.accuracy(r, context: $0), 0) }
    }

    static func title(_ report: RetrievalReport) -> String {
        let s = report.settings
        return "\(report.model.name) (\(report.model.file)), filler \(report.filler.file): contexts "
            + s.contexts.map(RetrievalSettings.label(context:)).joined(separator: ", ") + " tokens, depths "
            + s.depths.map(\.formatted).joined(separator: ", ") + " %, \(s.samples) sample\(s.samples == 1 ? "" : "s") each "
            + "(\(report.tasks.count) tasks, seed \(s.seed)), answers of at most \(s.answerTokens) tokens"
    }

    static let legend = """
        RULER's single-needle task: a 7-digit number stated once for a key at a depth of the filler, asked for at the end; \
        an answer is correct when the greedily decoded text holds the number. The dense prompt is compressed by each policy at \
        its end, question included, then the answer decodes through the compressed session. memory: session bytes / dense \
        f16 bytes at the end of each answer; accuracy: share of correct answers, over all tasks and per context.
        """

    /// Columns padded for a terminal, with a title and a legend.
    public static func terminal(_ report: RetrievalReport) -> String {
        "Needle retrieval: " + title(report) + "\n" + TerminalTable.render(header: header(report), rows: report.allRuns.map { cells($0, in: report) })
            + "\n" + legend + "\n"
    }

    /// A Markdown document: title, the table, the dense reference per depth and context, the
    /// heat maps.
    public static func markdown(_ report: RetrievalReport) -> String {
        let header = header(report)
        var out = "# Needle retrieval\n\n" + title(report) + " (kvpack \(report.kvpackVersion)).\n\n"
        out += row(header) + "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for r in report.allRuns {
            var cells = cells(r, in: report).map { $0.replacingOccurrences(of: "|", with: "\\|") }
            cells += Array(repeating: "", count: header.count - cells.count)
            out += row(cells)
        }
        out += "\n" + legend + "\n\n## Dense reference, accuracy % by depth and context\n\n"
        let columns = ["depth"] + report.settings.contexts.map(RetrievalSettings.label(context:))
        out += row(columns) + "|" + columns.map { _ in "---" }.joined(separator: "|") + "|\n"
        for d in report.settings.depths {
            out += row(["\(d.formatted) %"] + report.settings.contexts.map { percent(report.accuracy(report.reference, context: $0, depth: d), 0) })
        }
        out += "\n![dense reference](\(RetrievalPlots.heatMapName(report.reference)))\n\n## Heat maps\n\n"
        for r in report.allRuns where r.answers != nil {
            out += "- [\(r.name.replacingOccurrences(of: "|", with: "\\|"))](\(RetrievalPlots.heatMapName(r)))\n"
        }
        return out + "- [accuracy against memory](\(RetrievalPlots.accuracyVsMemoryName))\n"
    }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }

    /// One row per run and cell (context, depth): correct answers of the cell's tasks.
    public static func csv(_ report: RetrievalReport) -> String {
        let columns = ["index", "template", "policy", "keep", "memory_ratio", "context", "depth", "correct", "tasks", "accuracy", "error"]
        func quoted(_ x: String) -> String { x.contains(where: { ",\"\n".contains($0) }) ? "\"" + x.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : x }
        var out = columns.joined(separator: ",") + "\n"
        for r in report.allRuns {
            let head = [r.run.map { "\($0.index)" } ?? "", r.run?.template ?? "dense (reference)", r.name, r.run?.keep ?? "", "\(r.memoryRatio)"]
            guard let answers = r.answers else {
                out += (head + Array(repeating: "", count: 5) + [r.error ?? ""]).map(quoted).joined(separator: ",") + "\n"
                continue
            }
            for c in report.settings.contexts {
                for d in report.settings.depths {
                    let cell = zip(report.tasks, answers).filter { $0.0.context == c && $0.0.depth == d }
                    let correct = cell.filter { $0.1.correct }.count
                    out += (head + ["\(c)", d.formatted, "\(correct)", "\(cell.count)", "\(Double(correct) / Double(max(1, cell.count)))", ""])
                        .map(quoted).joined(separator: ",") + "\n"
                }
            }
        }
        return out
    }
}
