import Foundation

/// The plots of a needle-retrieval report: a depth × context accuracy heat map per run (the dense
/// reference's too), the form published needle results take, and accuracy against memory per
/// policy template.
public enum RetrievalPlots {
    public static let accuracyVsMemoryName = "accuracy-vs-memory.svg"

    /// `needle-dense.svg` for the reference; `needle-07-snapkv-keep0.25.svg` for run 7 (its
    /// template in letters, digits, dots and dashes, and its budget).
    public static func heatMapName(_ r: RetrievalRunResult) -> String {
        guard let run = r.run else { return "needle-dense.svg" }
        var slug = "", dash = false
        for ch in run.template.lowercased() {
            if ch.isASCII && (ch.isLetter || ch.isNumber || ch == ".") {
                if dash && !slug.isEmpty { slug += "-" }
                slug.append(ch)
                dash = false
            } else {
                dash = true
            }
        }
        return String(format: "needle-%02d-", run.index) + slug + (run.keep.map { "-keep\($0)" } ?? "") + ".svg"
    }

    /// Accuracy per needle depth (rows) and context (columns) of `r`.
    public static func heatMap(_ report: RetrievalReport, run r: RetrievalRunResult) -> SVGHeatMap {
        let s = report.settings
        let values = s.depths.map { d in s.contexts.map { report.accuracy(r, context: $0, depth: d) } }
        let memory = r.run == nil ? "" : String(format: ", memory %.3f", r.memoryRatio)
        return SVGHeatMap(title: "Needle retrieval: \(r.name)\(memory)", rows: s.depths.map { "depth \($0.formatted) %" },
                          columns: s.contexts.map(RetrievalSettings.label(context:)), values: values,
                          legend: "\(report.model.name); accuracy % of \(s.samples) task\(s.samples == 1 ? "" : "s") a cell; context in tokens",
                          scale: .accuracy)
    }

    /// Accuracy over all tasks against memory ratio, one series per template (its budgets
    /// joined), the dense reference a point of its own.
    public static func accuracyVsMemory(_ report: RetrievalReport) -> SVGChart {
        var order: [String] = [], points: [String: [(x: Double, y: Double)]] = [:]
        for r in report.allRuns where r.answers != nil {
            let name = r.run?.template ?? r.name
            if points[name] == nil { order.append(name) }
            points[name, default: []].append((r.memoryRatio, 100 * report.accuracy(r)))
        }
        var chart = SVGChart(title: "Needle retrieval vs memory: \(report.model.name)", xLabel: "memory ratio (session / dense f16 bytes)",
                             yLabel: "accuracy %, all tasks", series: order.map { SVGChart.Series(name: $0, points: points[$0]!) }, logY: false)
        chart.yRange = 0...100
        return chart
    }

    /// The report directory's files: Markdown, JSON, CSV, the heat maps and the accuracy plot.
    public static func files(_ report: RetrievalReport) -> [(name: String, data: Data)] {
        var files: [(String, Data)] = [("report.md", Data(RetrievalTable.markdown(report).utf8)), ("report.json", report.json()),
                                       ("report.csv", Data(RetrievalTable.csv(report).utf8))]
        for r in report.allRuns where r.answers != nil {
            files.append((heatMapName(r), Data(heatMap(report, run: r).svg().utf8)))
        }
        files.append((accuracyVsMemoryName, Data(accuracyVsMemory(report).svg().utf8)))
        return files
    }
}
