import Foundation
import KVPack

/// Why a report cannot be written or read.
public enum ReportDirectoryError: Error, Equatable, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)
    case notFound(String)
    /// The directory cannot be replaced by a report (found before any work).
    case output(OutputPathError)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): return "cannot write the report into \(path): \(reason)"
        case .notFound(let path): return "\(path) does not exist"
        case .output(let error): return error.description
        }
    }
}

/// A directory that receives a report all at once: the files are written into a sibling folder
/// (`.NAME.tmp-PID-RANDOM`, a `TemporaryFiles` path), which then replaces the directory in one
/// step with interrupts held off: an atomic exchange where the system has one (Linux
/// `renameat2`, macOS `renamex_np`), else two renames back to back. A reader sees the old report
/// or the new one, never a mix; an interrupt before the swap removes the sibling folder and leaves
/// the old report as it was.
public struct ReportDirectory: Sendable {
    public let path: String

    /// Checks, before any work, that `path` can be replaced by a report: a new or empty
    /// directory, or a previous report (only report files in it), holding none of `inputs`, with
    /// a writable parent (created when missing).
    public init(_ path: String, inputs: [String] = []) throws(ReportDirectoryError) {
        self.path = path
        do {
            try OutputPath.prepareDirectory(path, inputs: inputs, replaceable: Self.isReportEntry)
        } catch {
            throw .output(error)
        }
    }

    /// Names a report directory holds: its files, their PNGs (the probe eval's, the fidelity
    /// eval's and the needle-retrieval eval's), and older versions' staging folders.
    static func isReportEntry(_ name: String) -> Bool {
        let stem = name.split(separator: ".").first.map(String.init) ?? ""
        let ext = (name as NSString).pathExtension
        if ["report.md", "report.json", "report.csv"].contains(name) { return true }
        if name.hasPrefix(".kvpack-eval-partial-") { return true }
        let plots = ["error-vs-memory", "layers", "kld-vs-memory", "needle-", "accuracy-vs-memory"]
        return ["svg", "png"].contains(ext) && plots.contains { stem.hasPrefix($0) }
    }

    /// The report's files: Markdown, JSON, CSV, and per capture an error-vs-memory plot and a
    /// per-layer heat map (SVG; PNG too when `rsvg-convert` is on PATH).
    public static func files(_ report: EvalReport) -> [(name: String, data: Data)] {
        var files: [(String, Data)] = [("report.md", Data(ReportTable.markdown(report).utf8)), ("report.json", report.json()),
                                       ("report.csv", Data(ReportTable.csv(report).utf8))]
        for c in report.captures.indices where report.runs.contains(where: { $0.run.capture == c }) {
            let stem = ReportPlots.stem(report, capture: c)
            files.append(("error-vs-memory\(stem).svg", Data(ReportPlots.errorVsMemory(report, capture: c).svg().utf8)))
            if let map = ReportPlots.layerHeatMap(report, capture: c) { files.append(("layers\(stem).svg", Data(map.svg().utf8))) }
        }
        return files
    }

    /// Writes the report's files and swaps them in; returns their names (PNGs only when
    /// `rsvg-convert` ran).
    @discardableResult
    public func write(_ report: EvalReport) throws(ReportDirectoryError) -> [String] {
        try write(files: Self.files(report))
    }

    /// Writes `files` (names among the report names: `report.md`, `report.json`, `report.csv`,
    /// plots) and swaps them in; each SVG also as PNG when `rsvg-convert` is installed. Returns
    /// the names written.
    @discardableResult
    public func write(files: [(name: String, data: Data)]) throws(ReportDirectoryError) -> [String] {
        let stage = TemporaryFiles.path(beside: URL(fileURLWithPath: path).standardizedFileURL.path)
        let token: TemporaryFiles.Token
        do { token = try TemporaryFiles.createDirectory(stage) } catch {
            throw .cannotCreate(path: path, reason: (error as NSError).localizedDescription)
        }
        defer { TemporaryFiles.remove(token) } // the folder written, or after the swap the old report
        var names: [String] = []
        do {
            for (name, data) in files {
                try data.write(to: URL(fileURLWithPath: (stage as NSString).appendingPathComponent(name)))
                names.append(name)
            }
        } catch {
            throw .cannotCreate(path: path, reason: (error as NSError).localizedDescription)
        }
        for svg in names where svg.hasSuffix(".svg") {
            let png = String(svg.dropLast(4)) + ".png"
            if Self.rasterize((stage as NSString).appendingPathComponent(svg), to: (stage as NSString).appendingPathComponent(png)) {
                names.append(png)
            }
        }
        try TemporaryFiles.holdingSignals { () throws(ReportDirectoryError) in try DirectorySwap.replace(path, with: stage) }
        return names
    }

    /// SVG to PNG with librsvg's `rsvg-convert`, when installed; false otherwise.
    static func rasterize(_ svg: String, to png: String) -> Bool {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let tool = paths.map({ "\($0)/rsvg-convert" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return false
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["--zoom", "2", "-o", png, svg]
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
