import Dispatch
import Foundation

extension GGUFFile: ModelSource {
    func string(_ key: String) -> String? { (try? metadata.value(key, as: String.self)) ?? nil }
    func integer(_ key: String) -> Int? { metadata[key]?.int }
    func real(_ key: String) -> Double? { metadata[key]?.double }
    func dimensions(of name: String) -> [Int]? { (try? tensor(named: name))?.dimensions }

    /// The tensor dequantized, its rows split over the cores (Gemma-3's embedding table alone is
    /// 168M elements).
    func floats(_ name: String) throws(ModelError) -> [Float] {
        let info: GGUFTensorInfo
        do throws(GGUFError) { info = try tensor(named: name) } catch { throw .file(error) }
        let rows = info.rowCount, width = info.rowLength
        let parts = rows * width >= 1 << 20 ? min(rows, 4 * ProcessInfo.processInfo.activeProcessorCount) : 1
        let failures = FailureSlot()
        let values = [Float](unsafeUninitializedCapacity: rows * width) { buffer, initialized in
            let base = SendableFloats(pointer: buffer.baseAddress)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let range = rows * part / parts..<rows * (part + 1) / parts
                guard !range.isEmpty, let start = base.pointer else { return }
                do throws(GGUFError) {
                    try dequantize(info, rows: range, into: UnsafeMutableBufferPointer(start: start + range.lowerBound * width,
                                                                                         count: range.count * width))
                } catch {
                    failures.record(error)
                }
            }
            // Floats are trivial: an unwritten element (after a failure) is never read, the array is dropped.
            initialized = rows * width
        }
        if let error = failures.first { throw .file(error) }
        return values
    }
}

/// The output buffer handed to the dequantizing workers (disjoint row ranges each).
private struct SendableFloats: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>?
}

/// The first error of concurrent dequantization workers.
private final class FailureSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var error: GGUFError?

    func record(_ e: GGUFError) { lock.withLock { if error == nil { error = e } } }
    var first: GGUFError? { lock.withLock { error } }
}
