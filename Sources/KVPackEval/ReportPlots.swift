import Foundation

/// The report's plots: error against memory per policy, and per-layer error per run.
public enum ReportPlots {
    /// What the plot files of capture `capture` add to their names: nothing with one capture, else `-INDEX`.
    public static func stem(_ report: EvalReport, capture: Int) -> String { report.captures.count == 1 ? "" : "-\(capture)" }

    /// Mean relative L2 against memory ratio, one series per template (its budgets joined), for
    /// capture `capture`.
    public static func errorVsMemory(_ report: EvalReport, capture: Int) -> SVGChart {
        let runs = report.runs.filter { $0.run.capture == capture && $0.error == nil }
        var order: [String] = [], points: [String: [(x: Double, y: Double)]] = [:]
        for r in runs {
            if points[r.run.template] == nil { order.append(r.run.template) }
            points[r.run.template, default: []].append((r.memoryRatio, r.relativeL2.mean))
        }
        let c = report.captures[capture]
        return SVGChart(title: "Attention error vs memory: \(c.file)", xLabel: "memory ratio (compressed / dense f16 bytes)",
                        yLabel: "probe attention rel. L2 (mean, log)",
                        series: order.map { SVGChart.Series(name: $0, points: points[$0]!) }, logY: true)
    }

    /// Mean relative L2 per layer (columns) and run (rows), for capture `capture`; nil without
    /// per-layer results.
    public static func layerHeatMap(_ report: EvalReport, capture: Int) -> SVGHeatMap? {
        let runs = report.runs.filter { $0.run.capture == capture && $0.error == nil && $0.layers != nil }
        guard let first = runs.first?.layers else { return nil }
        let c = report.captures[capture]
        return SVGHeatMap(title: "Attention error per layer: \(c.file)", rows: runs.map { $0.run.template + ($0.run.keep.map { " @ keep=\($0)" } ?? "") },
                          columns: first.map { "L\($0.sourceLayer)" + ($0.kind == "global" ? "" : "*") },
                          values: runs.map { $0.layers!.map(\.relativeL2.mean) },
                          legend: "mean probe attention rel. L2; * = sliding-window layer")
    }
}
