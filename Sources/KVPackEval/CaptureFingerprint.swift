import Crypto
import Foundation
import KVPack

extension EvalReport.CaptureInfo {
    /// Describes the capture file at `path` (SHA-256 of its bytes, streamed) and its contents.
    public init(path: String, capture: Capture) throws(EvalError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadableReport(path: path, reason: "cannot be opened to checksum it")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total = 0
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            total += chunk.count
        }
        self.init(file: URL(fileURLWithPath: path).lastPathComponent,
                  sha256: hasher.finalize().map { String(format: "%02x", $0) }.joined(), bytes: total,
                  model: capture.model.name, sequences: capture.sequences.count,
                  tokens: capture.sequences.reduce(0) { $0 + $1.positions.tokens.count },
                  probes: capture.sequences.reduce(0) { $0 + $1.positions.probes.count }, layers: capture.model.layerCount)
    }
}
