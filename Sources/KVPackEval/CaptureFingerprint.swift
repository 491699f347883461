import Crypto
import Foundation
import KVPack

extension EvalReport.CaptureInfo {
    /// Describes the capture file at `path` (SHA-256 of its bytes, streamed) and its contents.
    public init(path: String, capture: Capture) throws(EvalError) {
        try self.init(path: path, model: capture.model, sequences: capture.sequences.map(\.positions))
    }

    /// Describes the capture file at `path` (SHA-256 of its bytes, streamed in 1 MiB reads, with
    /// `progress(bytes read, file size)`) from its model facts and positions.
    public init(path: String, model: ModelFacts, sequences: [SequencePositions],
                progress: (Int, Int) -> Void = { _, _ in }) throws(EvalError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadableReport(path: path, reason: "cannot be opened to checksum it")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total = 0
        let size = Int((try? handle.seekToEnd()) ?? 0)
        try? handle.seek(toOffset: 0)
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            total += chunk.count
            progress(total, size)
        }
        self.init(file: URL(fileURLWithPath: path).lastPathComponent,
                  sha256: hasher.finalize().map { String(format: "%02x", $0) }.joined(), bytes: total,
                  model: model.name, sequences: sequences.count, tokens: sequences.reduce(0) { $0 + $1.tokens.count },
                  probes: sequences.reduce(0) { $0 + $1.probes.count }, layers: model.layerCount)
    }
}
