import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KVPackEval
import Testing

/// Counts elements by name in an SVG document (and fails on malformed XML).
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
    }
    static func count(_ svg: String) -> [String: Int]? {
        let parser = XMLParser(data: Data(svg.utf8))
        let c = ElementCounter()
        parser.delegate = c
        return parser.parse() ? c.counts : nil
    }
}

@Suite("SVG charts")
struct SVGChartTests {
    @Test("one marker per finite point, a line per series with several, legend entries; well-formed XML")
    func chart() throws {
        let chart = SVGChart(title: "a < b & c", xLabel: "x", yLabel: "y", series: [
            .init(name: "s1", points: [(0.1, 0.5), (0.25, 0.2), (0.5, 0.05)]),
            .init(name: "s2", points: [(0.6, 0.01)]),
            .init(name: "s3", points: [(0.3, 0), (0.4, .nan)]), // not drawable on a log scale
        ], logY: true)
        let counts = try #require(ElementCounter.count(chart.svg()))
        #expect(counts["circle"] == 4)
        #expect(counts["polyline"] == 1)
        // Larger x is further right; larger y is higher (smaller pixel y).
        let a = chart.pixel(0.1, 0.5), b = chart.pixel(0.5, 0.05)
        #expect(a.0 < b.0 && a.1 < b.1)
        // Decades: 0.01 .. 1 spans the plot height.
        let top = chart.pixel(0, 1).1, bottom = chart.pixel(0, 0.01).1
        #expect(abs(top - 50) < 1e-9 && abs(bottom - (520 - 60)) < 1e-9)
    }

    @Test("a heat map has one cell per value, and a colour scale labelled from its smallest to its largest value")
    func heatMap() throws {
        let map = SVGHeatMap(title: "t", rows: ["a", "b"], columns: ["L0", "L1", "L2"], values: [[0.1, 0.2, .nan], [0, 1, 2]], legend: "e")
        let svg = map.svg()
        let counts = try #require(ElementCounter.count(svg))
        #expect(counts["rect"] == 1 + 6 + SVGHeatMap.scaleSteps) // background + cells + the scale's steps
        #expect(counts["title"] == 6)
        // Positive values span 0.1 ... 2: the scale's ends say so, its middle is their geometric mean.
        #expect(svg.contains(">colour scale<") && svg.contains(">≤ 0.1<") && svg.contains(">2<") && svg.contains(">0.447<"))
    }

    @Test("an accuracy heat map: linear red (0) to green (1), each cell labelled in percent, the scale from 0 to 100")
    func accuracyHeatMap() throws {
        let map = SVGHeatMap(title: "t", rows: ["depth 0 %", "depth 100 %"], columns: ["1K", "2K"], values: [[0, 0.5], [1, .nan]], legend: "e",
                             scale: .accuracy)
        let svg = map.svg()
        let counts = try #require(ElementCounter.count(svg))
        #expect(counts["rect"] == 1 + 4 + SVGHeatMap.scaleSteps)
        #expect(svg.contains("fill=\"#d73027\" stroke") && svg.contains("fill=\"#1a9850\" stroke") && svg.contains("fill=\"#fee08b\" stroke"))
        #expect(svg.contains("fill=\"#cccccc\""), "NaN is grey")
        for label in [">0<", ">50<", ">100<"] { #expect(svg.contains(label), "\(label)") }
        #expect(svg.contains("linear colour scale, 0 to 100 %") && !svg.contains("≤"))
    }

    @Test("a log axis spanning a decade or two is labelled at 1, 2 and 5 times each power of ten", arguments: [
        ([0.03, 0.2], ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"]),
        ([0.0002, 0.5], ["0.0001", "0.001", "0.01", "0.1", "1"]), // four decades: powers of ten only
    ])
    func logTicks(ys: [Double], labels: [String]) throws {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "s", points: ys.map { (0.5, $0) })], logY: true)
        let svg = chart.svg()
        // Tick labels sit right-aligned left of the plot.
        let ticks = svg.components(separatedBy: "\n").filter { $0.contains("text-anchor=\"end\"") }
            .compactMap { $0.split(separator: ">").dropFirst().first?.split(separator: "<").first.map(String.init) }
        #expect(ticks == labels)
    }
}
