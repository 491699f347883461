import KVPack
import KVPackModel

/// The request whose prompt runs between decode steps (one at a time, in arrival order).
struct PrefillJob {
    enum Phase {
        /// The whole prompt, densely in chunks, then compressed into the request's session.
        case prompt(PromptPrefill)
        /// A shared prefix not cached yet: into a session of its own, then cached and forked.
        case prefix(PromptPrefill, key: PrefixCache.Key)
        /// A cached prefix to fork once there is room for the rest of the prompt and the generation.
        case fork(key: PrefixCache.Key)
        /// The rest of the prompt after a forked prefix, appended to the fork in chunks (f16).
        case suffix(CacheSession, done: Int)
    }

    let pending: PendingRequest
    var phase: Phase
    /// The scheduler's release count when the job last found no room; it waits until pages are
    /// given back.
    var stalledAt: UInt64?
    /// Tokens of the prompt that come from a forked prefix.
    var sharedPrefixTokens = 0

    /// The sessions the job holds that are the request's own (not a cached prefix's).
    var ownSessions: [CacheSession] {
        switch phase {
        case .prompt(let p): return [p.session]
        case .prefix(let p, _): return [p.session]
        case .fork: return []
        case .suffix(let s, _): return [s]
        }
    }
}
