import Foundation

/// Progress on standard error: a redrawn line on a terminal, plain lines when piped, and
/// nothing for work that finishes within a second.
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
        let now = Date()
        guard now.timeIntervalSince(start) > 1 else { return }
        guard isTerminal || now.timeIntervalSince(lastPrinted) > 5 || done == total else { return }
        lastPrinted = now
        shown = true
        let line = "\(label): \(done)/\(total) (\(String(format: "%.0f", now.timeIntervalSince(start))) s)"
        FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish() {
        if shown && isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
