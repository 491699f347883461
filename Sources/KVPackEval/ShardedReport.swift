import Foundation

/// A sweep's JSON report that shards of the sweep write and `merge` joins: the probe evaluation's
/// `EvalReport` and the next-token `FidelityReport`.
public protocol ShardedReport: Codable, Sendable {
    associatedtype RunReport: Sendable
    var kvpackVersion: String { get }
    /// Runs in the whole sweep; `runs` holds those of `shard` (all when nil).
    var totalRuns: Int { get }
    var shard: Shard? { get set }
    var runs: [RunReport] { get set }
    /// A run's position in the sweep.
    static func index(of run: RunReport) -> Int
    /// What differs between `self` and `other` beyond version and size (inputs, settings), as
    /// `EvalError.mergeMismatch` words it; nil when they are parts of one sweep.
    func mismatch(with other: Self) -> String?
}

extension ShardedReport {
    /// Pretty-printed JSON with sorted keys, newline-terminated.
    public func json() -> Data { ReportJSON.encode(self) }

    /// Reads a report written as JSON.
    /// - Throws: `EvalError.unreadableReport` naming the file and why.
    public static func read(_ path: String) throws(EvalError) -> Self { try ReportJSON.read(Self.self, from: path) }

    /// Joins shards of one sweep into the whole sweep's report.
    /// - Throws: `EvalError.mergeMismatch` for parts of different sweeps, `.mergeIncomplete` for
    ///   missing or repeated runs.
    public static func merge(_ parts: [Self]) throws(EvalError) -> Self {
        guard let first = parts.first else { throw .mergeIncomplete(missing: [], duplicated: []) }
        for p in parts.dropFirst() {
            if p.kvpackVersion != first.kvpackVersion { throw .mergeMismatch("KVPack versions") }
            if let what = p.mismatch(with: first) { throw .mergeMismatch(what) }
            if p.totalRuns != first.totalRuns { throw .mergeMismatch("sweep sizes") }
        }
        var seen: [Int: RunReport] = [:], duplicated: [Int] = []
        for r in parts.flatMap(\.runs) {
            if seen[index(of: r)] != nil { duplicated.append(index(of: r)) }
            seen[index(of: r)] = r
        }
        let missing = (0..<first.totalRuns).filter { seen[$0] == nil }
        guard missing.isEmpty, duplicated.isEmpty else { throw .mergeIncomplete(missing: missing, duplicated: duplicated.sorted()) }
        var whole = first
        whole.shard = nil
        whole.runs = (0..<first.totalRuns).map { seen[$0]! }
        return whole
    }
}

/// The JSON of every report: pretty-printed, keys sorted, NaN and infinities as strings.
enum ReportJSON {
    /// `value` as JSON, newline-terminated.
    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try! encoder.encode(value) + Data("\n".utf8)
    }

    /// A report of type `type` read from the JSON file at `path`.
    /// - Throws: `EvalError.unreadableReport` naming the file and why.
    static func read<T: Decodable>(_ type: T.Type, from path: String) throws(EvalError) -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadableReport(path: path, reason: "\(error)")
        }
    }
}
