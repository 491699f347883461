import Foundation

/// A line-and-marker chart as SVG text: one series per policy, x and y in data units (y on a
/// log scale when asked). Small on purpose: no Swift plotting package builds here, and SVG is
/// text that any browser shows and `rsvg-convert` turns into PNG.
public struct SVGChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var logY: Bool
    /// A fixed linear y range (accuracy in percent: 0...100) instead of 0 to the largest y.
    public var yRange: ClosedRange<Double>?
    public var width = 860.0, height = 520.0
    let plot = (left: 80.0, top: 50.0, right: 240.0, bottom: 60.0)

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logY: Bool) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logY = logY
    }

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]

    /// Finite points (positive y on a log scale).
    func usable(_ p: (x: Double, y: Double)) -> Bool { p.x.isFinite && p.y.isFinite && (!logY || p.y > 0) }

    /// Data ranges: x from 0 to the largest x (at least 1), y padded to whole decades on a log scale
    /// (or `yRange`).
    var ranges: (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let pts = series.flatMap(\.points).filter(usable)
        let xMax = max(1, pts.map(\.x).max() ?? 1)
        if logY {
            let ys = pts.map { log10($0.y) }
            let lo = (ys.min() ?? -3).rounded(.down), hi = (ys.max() ?? 0).rounded(.up)
            return (0...xMax, lo...(hi > lo ? hi : lo + 1))
        }
        if let yRange { return (0...xMax, yRange) }
        let yMax = max(pts.map(\.y).max() ?? 1, 1e-12)
        return (0...xMax, 0...yMax * 1.05)
    }

    /// Pixel position of a data point.
    public func pixel(_ x: Double, _ y: Double) -> (Double, Double) {
        let r = ranges
        let w = width - plot.left - plot.right, h = height - plot.top - plot.bottom
        let yv = logY ? log10(y) : y
        let px = plot.left + (x - r.x.lowerBound) / (r.x.upperBound - r.x.lowerBound) * w
        let py = plot.top + h - (yv - r.y.lowerBound) / (r.y.upperBound - r.y.lowerBound) * h
        return (px, py)
    }

    /// Tick positions (log10 of the values) of a log axis over whole decades `range`: each decade
    /// boundary, and 2 and 5 times it when the axis spans at most three decades (so that an axis
    /// of one or two decades reads at more than two points).
    func logTicks(_ range: ClosedRange<Double>) -> [Double] {
        let decades = Array(stride(from: range.lowerBound, through: range.upperBound, by: 1))
        guard range.upperBound - range.lowerBound <= 3 else { return decades }
        return decades.flatMap { d in [d, d + log10(2), d + log10(5)] }.filter { $0 <= range.upperBound + 1e-9 }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func n(_ x: Double) -> String { String(format: "%.1f", x) }

    public func svg() -> String {
        let r = ranges
        let w = width - plot.left - plot.right, h = height - plot.top - plot.bottom
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(Self.n(width / 2))\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">\(Self.escape(title))</text>\n"
        // Grid and ticks.
        for i in 0...5 {
            let x = r.x.lowerBound + Double(i) / 5 * (r.x.upperBound - r.x.lowerBound)
            let px = plot.left + Double(i) / 5 * w
            s += "<line x1=\"\(Self.n(px))\" y1=\"\(Self.n(plot.top))\" x2=\"\(Self.n(px))\" y2=\"\(Self.n(plot.top + h))\" stroke=\"#e0e0e0\"/>\n"
            s += "<text x=\"\(Self.n(px))\" y=\"\(Self.n(plot.top + h + 18))\" text-anchor=\"middle\">\(String(format: "%.2f", x))</text>\n"
        }
        let yTicks: [Double] = logY ? logTicks(r.y) : (0...5).map { r.y.lowerBound + Double($0) / 5 * (r.y.upperBound - r.y.lowerBound) }
        for t in yTicks {
            let py = plot.top + h - (t - r.y.lowerBound) / (r.y.upperBound - r.y.lowerBound) * h
            let label = logY ? (t >= 0 ? String(format: "%.0f", pow(10, t)) : String(format: "%g", pow(10, t))) : String(format: "%.3g", t)
            s += "<line x1=\"\(Self.n(plot.left))\" y1=\"\(Self.n(py))\" x2=\"\(Self.n(plot.left + w))\" y2=\"\(Self.n(py))\" stroke=\"#e0e0e0\"/>\n"
            s += "<text x=\"\(Self.n(plot.left - 6))\" y=\"\(Self.n(py + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        s += "<rect x=\"\(Self.n(plot.left))\" y=\"\(Self.n(plot.top))\" width=\"\(Self.n(w))\" height=\"\(Self.n(h))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(Self.n(plot.left + w / 2))\" y=\"\(Self.n(height - 16))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(20 \(Self.n(plot.top + h / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (i, ser) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let pts = ser.points.filter(usable).sorted { $0.x < $1.x }.map { pixel($0.x, $0.y) }
            if pts.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"" + pts.map { "\(Self.n($0.0)),\(Self.n($0.1))" }.joined(separator: " ") + "\"/>\n"
            }
            for p in pts { s += "<circle cx=\"\(Self.n(p.0))\" cy=\"\(Self.n(p.1))\" r=\"4\" fill=\"\(color)\"/>\n" }
            let ly = plot.top + 10 + Double(i) * 18
            s += "<rect x=\"\(Self.n(width - plot.right + 16))\" y=\"\(Self.n(ly - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>\n"
            s += "<text x=\"\(Self.n(width - plot.right + 32))\" y=\"\(Self.n(ly + 1))\">\(Self.escape(ser.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}
