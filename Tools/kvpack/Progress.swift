import Dispatch
import Foundation

/// Progress on standard error: a redrawn line on a terminal, plain lines when piped (at most one
/// every 5 s), and nothing for work that finishes within a second.
struct Progress {
    let label: String
    let total: Int
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastPrinted = Date.distantPast
    private var shown = false

    init(_ label: String, total: Int) {
        self.label = label
        self.total = total
    }

    mutating func update(_ done: Int) {
        show("\(done)/\(total)", final: done == total)
    }

    /// Elapsed time only, for a step that cannot count its parts.
    mutating func tick() { show("working", final: false) }

    private mutating func show(_ what: String, final: Bool) {
        let now = Date()
        guard now.timeIntervalSince(start) > 1 else { return }
        guard isTerminal || now.timeIntervalSince(lastPrinted) > 5 || final else { return }
        lastPrinted = now
        shown = true
        let line = "\(label): \(what) (\(String(format: "%.0f", now.timeIntervalSince(start))) s)"
        FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish() {
        guard shown else { return }
        let line = "\(label): done (\(String(format: "%.0f", Date().timeIntervalSince(start))) s)"
        FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + line + "\n" : line + "\n").utf8))
    }

    /// Runs `body`, a step that cannot count its parts, with a line showing the time it has taken
    /// once it passes a second.
    static func during<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let progress = PhaseProgress()
        progress.tick(label) // starts the clock
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { progress.tick(label) }
        timer.resume()
        defer {
            timer.cancel()
            progress.finish()
        }
        return try body()
    }
}
