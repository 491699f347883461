import Foundation
import KVPack

/// A sweep's results as JSON: what ran (version, captures by checksum, specs, settings) and
/// what each run measured. Nothing in it depends on time or machine, so the same command gives
/// byte-identical JSON; shards of a sweep merge into the report the whole sweep would give.
public struct EvalReport: ShardedReport, Hashable {
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

    public static func index(of run: RunResult) -> Int { run.run.index }

    public func mismatch(with other: EvalReport) -> String? {
        if captures != other.captures { return "captures (files or checksums)" }
        if settings != other.settings { return "policies, budgets or settings" }
        return nil
    }
}
