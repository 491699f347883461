import KVPack
import KVPackPolicies

/// Why an evaluation cannot run or its parts cannot be merged.
public enum EvalError: Error, Equatable, CustomStringConvertible {
    case noProbes(capture: String)
    case badBudget(String)
    case badShard(String)
    case policy(template: String, PolicyError)
    case mergeMismatch(String)
    case mergeIncomplete(missing: [Int], duplicated: [Int])
    case unreadableReport(path: String, reason: String)
    /// A capture's layer or positions could not be read (the reader's message).
    case captureRead(String)

    public var description: String {
        switch self {
        case .noProbes(let capture):
            return """
                \(capture) has no probe queries, so there is nothing to measure: evaluation compares the attention of \
                tokens that come after the prompt over the dense and the compressed cache. Capture with probes \
                (`python3 Tools/capture/capture.py MODEL.gguf TEXT --probes 64 ...`, or `kvpack synth --probes 64`), or add \
                `probe_queries` [queryHeads, probes, headDim] and `probe_positions` to each sequence (Datasets/SCHEMA.md).
                """
        case .badBudget(let text):
            return "budget \"\(text)\" is invalid; a budget is a share in (0, 1] like 0.25, a token count per head like 512, or a cache size like 4MiB"
        case .badShard(let text):
            return "--shard \(text) is invalid; write I/N with 0 <= I < N, e.g. --shard 3/8 (Slurm: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with --array=0-7)"
        case .policy(let template, let error):
            return "policy \"\(template)\": \(error)"
        case .mergeMismatch(let what):
            return "these parts do not come from one sweep: \(what) differ"
        case .mergeIncomplete(let missing, let duplicated):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("runs \(missing.map(String.init).joined(separator: ", ")) are missing (a shard was not merged)") }
            if !duplicated.isEmpty { parts.append("runs \(duplicated.map(String.init).joined(separator: ", ")) appear twice") }
            return parts.joined(separator: "; ")
        case .unreadableReport(let path, let reason):
            return "\(path) is not a kvpack eval JSON report: \(reason)"
        case .captureRead(let message):
            return message
        }
    }
}
