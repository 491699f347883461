import Foundation
import Synchronization

/// Why a report cannot be written or read.
public enum ReportDirectoryError: Error, Equatable, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)
    case notFound(String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): return "cannot write the report into \(path): \(reason)"
        case .notFound(let path): return "\(path) does not exist"
        }
    }
}

/// A directory that receives a report all at once: files are written into a hidden staging
/// folder inside it and renamed into place only when all are complete, and an interrupt
/// (Ctrl-C) while writing removes the staging folder, so a report is never half-written.
public struct ReportDirectory: Sendable {
    public let path: String

    /// Creates the directory if needed and checks it is writable (before any work is done).
    public init(_ path: String) throws(ReportDirectoryError) {
        self.path = path
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw .cannotCreate(path: path, reason: "it is a file, not a directory") }
        } else {
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw .cannotCreate(path: path, reason: (error as NSError).localizedDescription)
            }
        }
        guard fm.isWritableFile(atPath: path) else { throw .cannotCreate(path: path, reason: "it is not writable") }
    }

    /// The report's files: Markdown, JSON, CSV, and per capture an error-vs-memory plot and a
    /// per-layer heat map (SVG; PNG too when `rsvg-convert` is on PATH).
    public static func files(_ report: EvalReport) -> [(name: String, data: Data)] {
        var files: [(String, Data)] = [("report.md", Data(ReportTable.markdown(report).utf8)), ("report.json", report.json()),
                                       ("report.csv", Data(ReportTable.csv(report).utf8))]
        for c in report.captures.indices where report.runs.contains(where: { $0.run.capture == c }) {
            let stem = report.captures.count == 1 ? "" : "-\(c)"
            files.append(("error-vs-memory\(stem).svg", Data(ReportPlots.errorVsMemory(report, capture: c).svg().utf8)))
            if let map = ReportPlots.layerHeatMap(report, capture: c) { files.append(("layers\(stem).svg", Data(map.svg().utf8))) }
        }
        return files
    }

    static let staging = Mutex<String?>(nil)

    /// Writes the report's files; returns their names (PNGs only when `rsvg-convert` ran).
    @discardableResult
    public func write(_ report: EvalReport) throws(ReportDirectoryError) -> [String] {
        let fm = FileManager.default
        let stage = (path as NSString).appendingPathComponent(".kvpack-eval-partial-\(getpid())")
        ReportDirectory.installInterruptCleanup()
        ReportDirectory.staging.withLock { $0 = stage }
        defer {
            ReportDirectory.staging.withLock { $0 = nil }
            try? fm.removeItem(atPath: stage)
        }
        var names: [String] = []
        do {
            try fm.createDirectory(atPath: stage, withIntermediateDirectories: true)
            for (name, data) in Self.files(report) {
                try data.write(to: URL(fileURLWithPath: (stage as NSString).appendingPathComponent(name)))
                names.append(name)
            }
            for svg in names where svg.hasSuffix(".svg") {
                let png = String(svg.dropLast(4)) + ".png"
                if Self.rasterize((stage as NSString).appendingPathComponent(svg), to: (stage as NSString).appendingPathComponent(png)) {
                    names.append(png)
                }
            }
            for name in names {
                let target = (path as NSString).appendingPathComponent(name)
                if fm.fileExists(atPath: target) { try fm.removeItem(atPath: target) }
                try fm.moveItem(atPath: (stage as NSString).appendingPathComponent(name), toPath: target)
            }
        } catch {
            throw .cannotCreate(path: path, reason: (error as NSError).localizedDescription)
        }
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

    static let interruptSource = Mutex<DispatchSourceSignal?>(nil)

    /// From now on, SIGINT (Ctrl-C) exits with status 130 after removing the staging folder of
    /// a write under way (whatever SIGINT disposition the process inherited).
    public static func installInterruptCleanup() {
        interruptSource.withLock { source in
            guard source == nil else { return }
            signal(SIGINT, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            s.setEventHandler {
                if let stage = ReportDirectory.staging.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: stage) }
                FileHandle.standardError.write(Data("kvpack: interrupted; no report written\n".utf8))
                exit(130)
            }
            s.resume()
            source = s
        }
    }
}
