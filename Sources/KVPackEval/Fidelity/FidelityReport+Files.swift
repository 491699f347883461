import Foundation

extension FidelityReport {
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
