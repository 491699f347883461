import Foundation
import KVPack

/// A sweep's results as JSON: what ran (version, captures by checksum, specs, settings) and
/// what each run measured. Nothing in it depends on time or machine, so the same command gives
/// byte-identical JSON; shards of a sweep merge into the report the whole sweep would give.
public struct EvalReport: Sendable, Hashable, Codable {
    public struct CaptureInfo: Sendable, Hashable, Codable {
        /// File name (not the path, which differs between machines).
        public var file: String
        public var sha256: String
        public var bytes: Int
        public var model: String
        public var sequences: Int
        public var tokens: Int
        public var probes: Int
        public var layers: Int

        public init(file: String, sha256: String, bytes: Int, model: String, sequences: Int, tokens: Int, probes: Int, layers: Int) {
            self.file = file
            self.sha256 = sha256
            self.bytes = bytes
            self.model = model
            self.sequences = sequences
            self.tokens = tokens
            self.probes = probes
            self.layers = layers
        }
    }

    public struct Settings: Sendable, Hashable, Codable {
        public var templates: [String]
        public var budgets: [String]
        public var topK: Int
        public var pageSize: Int
        public var detail: RunEvaluation.Detail
        /// Probes decoded through the compressed cache (decode-time policy steps) instead of
        /// attending over the compressed prompt.
        public var decode: Bool
        /// Where the probes attended: "cpu", or the GPU backend's name.
        public var backend: String

        public init(templates: [String], budgets: [String], topK: Int, pageSize: Int, detail: RunEvaluation.Detail, decode: Bool = false,
                    backend: String = "cpu") {
            self.decode = decode
            self.backend = backend
            self.templates = templates
            self.budgets = budgets
            self.topK = topK
            self.pageSize = pageSize
            self.detail = detail
        }
    }

    public var kvpackVersion: String
    public var captures: [CaptureInfo]
    public var settings: Settings
    /// Runs in the whole sweep; `runs` holds those of `shard` (all when nil).
    public var totalRuns: Int
    public var shard: Shard?
    public var runs: [RunResult]

    public init(kvpackVersion: String, captures: [CaptureInfo], settings: Settings, totalRuns: Int, shard: Shard?, runs: [RunResult]) {
        self.kvpackVersion = kvpackVersion
        self.captures = captures
        self.settings = settings
        self.totalRuns = totalRuns
        self.shard = shard
        self.runs = runs
    }

    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try! encoder.encode(self) + Data("\n".utf8)
    }

    public static func read(_ path: String) throws(EvalError) -> EvalReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(EvalReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadableReport(path: path, reason: "\(error)")
        }
    }

    /// Joins shards of one sweep into the whole sweep's report.
    public static func merge(_ parts: [EvalReport]) throws(EvalError) -> EvalReport {
        guard let first = parts.first else { throw .mergeIncomplete(missing: [], duplicated: []) }
        for p in parts.dropFirst() {
            if p.kvpackVersion != first.kvpackVersion { throw .mergeMismatch("KVPack versions") }
            if p.captures != first.captures { throw .mergeMismatch("captures (files or checksums)") }
            if p.settings != first.settings { throw .mergeMismatch("policies, budgets or settings") }
            if p.totalRuns != first.totalRuns { throw .mergeMismatch("sweep sizes") }
        }
        var seen: [Int: RunResult] = [:], duplicated: [Int] = []
        for r in parts.flatMap(\.runs) {
            if seen[r.run.index] != nil { duplicated.append(r.run.index) }
            seen[r.run.index] = r
        }
        let missing = (0..<first.totalRuns).filter { seen[$0] == nil }
        guard missing.isEmpty, duplicated.isEmpty else { throw .mergeIncomplete(missing: missing, duplicated: duplicated.sorted()) }
        return EvalReport(kvpackVersion: first.kvpackVersion, captures: first.captures, settings: first.settings,
                          totalRuns: first.totalRuns, shard: nil, runs: (0..<first.totalRuns).map { seen[$0]! })
    }
}
