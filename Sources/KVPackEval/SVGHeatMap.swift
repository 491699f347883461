import Foundation

/// A heat map as SVG text: rows × columns of values, each cell a colour of its value's place on
/// the map's scale, with a colour scale drawn under the map.
public struct SVGHeatMap: Sendable {
    /// How values become colours.
    public enum Scale: Sendable, Hashable {
        /// Log scale over at most three decades of the positive values, light yellow (small) to
        /// dark purple (large); smaller values take the lightest colour. For errors.
        case logarithmic
        /// Linear over 0 ... 1, red (0) through yellow to green (1), each cell labelled with its
        /// value in percent. For accuracies, as published needle-in-a-haystack maps draw them.
        case accuracy
    }

    public var title: String
    public var rows: [String]
    public var columns: [String]
    /// `[row][column]`; NaN cells are grey, zero cells take the lightest color.
    public var values: [[Double]]
    public var legend: String
    public var scale: Scale

    public init(title: String, rows: [String], columns: [String], values: [[Double]], legend: String, scale: Scale = .logarithmic) {
        self.title = title
        self.rows = rows
        self.columns = columns
        self.values = values
        self.legend = legend
        self.scale = scale
    }

    /// Light yellow -> red -> dark purple.
    static let errorStops: [(Double, Double, Double)] = [(255, 255, 204), (253, 141, 60), (189, 0, 38), (63, 0, 90)]
    /// Red -> yellow -> green.
    static let accuracyStops: [(Double, Double, Double)] = [(215, 48, 39), (254, 224, 139), (26, 152, 80)]

    /// The colour at `t` in [0, 1] of a piecewise-linear scale through `stops`.
    static func color(_ t: Double, stops: [(Double, Double, Double)] = errorStops) -> String {
        let x = min(1, max(0, t)) * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(x)), f = x - Double(i)
        let c = (0..<3).map { k -> Int in
            let a = [stops[i].0, stops[i].1, stops[i].2][k], b = [stops[i + 1].0, stops[i + 1].1, stops[i + 1].2][k]
            return Int((a + (b - a) * f).rounded())
        }
        return String(format: "#%02x%02x%02x", c[0], c[1], c[2])
    }

    /// Steps of the colour scale drawn under the map.
    public static let scaleSteps = 10

    /// Where values sit on the colour scale: `position(v)` in [0, 1], the value at a scale
    /// position, and the legend's note on the scale.
    struct Placement {
        let position: (Double) -> Double
        let value: (Double) -> Double
        let note: String
        let stops: [(Double, Double, Double)]
    }

    var placement: Placement {
        switch scale {
        case .accuracy:
            return Placement(position: { $0 }, value: { $0 }, note: "linear colour scale, 0 to 100 %", stops: Self.accuracyStops)
        case .logarithmic:
            let finite = values.flatMap { $0 }.filter { $0.isFinite && $0 > 0 }
            // At most three decades: smaller values (exact layers) take the lightest color.
            let hi = log10(finite.max() ?? 1), lo = max(log10(finite.min() ?? 1e-3), hi - 3)
            return Placement(position: { v in v <= 0 ? 0 : hi > lo ? max(0, log10(v) - lo) / (hi - lo) : 0.5 },
                             value: { t in hi > lo ? pow(10, lo + t * (hi - lo)) : pow(10, hi) },
                             note: "log color scale, \(String(format: "%.3g", pow(10, lo))) or less to \(String(format: "%.3g", pow(10, hi)))",
                             stops: Self.errorStops)
        }
    }

    /// A scale label: the value itself, or a percentage on the accuracy scale.
    func label(_ v: Double) -> String { scale == .accuracy ? String(format: "%.0f", 100 * v) : String(format: "%.3g", v) }

    public func svg() -> String {
        let cell = (w: 56.0, h: scale == .accuracy ? 28.0 : 20.0), top = 70.0
        let left = 20 + 6.8 * Double(rows.map(\.count).max() ?? 10)
        let p = placement
        // Wide enough for the cells, the scale, the title (15 px) and the legend line (11 px).
        let text = max(8.6 * Double(title.count), 6.3 * Double(legend.count + p.note.count + 3)) + 20
        let width = max(left + Double(columns.count) * cell.w + 40, left + 360, text), height = top + Double(rows.count) * cell.h + 90
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"10\" y=\"24\" font-size=\"15\">\(SVGChart.escape(title))</text>\n"
        s += "<text x=\"10\" y=\"44\">\(SVGChart.escape(legend)) (\(p.note))</text>\n"
        for (j, c) in columns.enumerated() {
            s += "<text x=\"\(SVGChart.n(left + (Double(j) + 0.5) * cell.w))\" y=\"\(SVGChart.n(top - 6))\" text-anchor=\"middle\">\(SVGChart.escape(c))</text>\n"
        }
        for (i, r) in rows.enumerated() {
            let y = top + Double(i) * cell.h
            s += "<text x=\"\(SVGChart.n(left - 6))\" y=\"\(SVGChart.n(y + cell.h / 2 + 4))\" text-anchor=\"end\">\(SVGChart.escape(r))</text>\n"
            for (j, v) in values[i].enumerated() {
                let fill = v.isFinite ? Self.color(p.position(v), stops: p.stops) : "#cccccc"
                let x = left + Double(j) * cell.w
                s += "<rect x=\"\(SVGChart.n(x))\" y=\"\(SVGChart.n(y))\" width=\"\(SVGChart.n(cell.w))\" height=\"\(SVGChart.n(cell.h))\" fill=\"\(fill)\" stroke=\"white\"><title>\(SVGChart.escape(r)), \(SVGChart.escape(columns[j])): \(String(format: "%.4g", v))</title></rect>\n"
                if scale == .accuracy && v.isFinite {
                    s += "<text x=\"\(SVGChart.n(x + cell.w / 2))\" y=\"\(SVGChart.n(y + cell.h / 2 + 4))\" text-anchor=\"middle\">\(label(v))</text>\n"
                }
            }
        }
        // The colour scale: steps from the smallest value shown to the largest, labelled at both ends and the middle.
        let scaleTop = top + Double(rows.count) * cell.h + 24, step = 32.0
        s += "<text x=\"\(SVGChart.n(left - 6))\" y=\"\(SVGChart.n(scaleTop + 13))\" text-anchor=\"end\">colour scale</text>\n"
        for k in 0..<Self.scaleSteps {
            let t = (Double(k) + 0.5) / Double(Self.scaleSteps)
            s += "<rect x=\"\(SVGChart.n(left + Double(k) * step))\" y=\"\(SVGChart.n(scaleTop))\" width=\"\(SVGChart.n(step))\" height=\"16\" fill=\"\(Self.color(t, stops: p.stops))\"/>\n"
        }
        for t in [0.0, 0.5, 1.0] {
            let atMost = t == 0 && scale == .logarithmic ? "≤ " : ""
            s += "<text x=\"\(SVGChart.n(left + t * Double(Self.scaleSteps) * step))\" y=\"\(SVGChart.n(scaleTop + 30))\" text-anchor=\"middle\">\(atMost)\(label(p.value(t)))</text>\n"
        }
        return s + "</svg>\n"
    }
}
