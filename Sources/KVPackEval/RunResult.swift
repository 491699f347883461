import KVPack

/// What one policy run measured on one capture. Statistics run over every (sequence, layer,
/// query head, probe) row.
public struct RunResult: Sendable, Hashable, Codable {
    public var run: SweepPlan.Run
    /// Exact compressed bytes, and the dense f16 bytes of the same cache.
    public var bytes: Int
    public var denseBytes: Int
    /// `bytes / denseBytes`: the share of dense memory the compressed cache needs.
    public var memoryRatio: Double
    /// Tokens kept, as a share of the prompt's tokens (all heads).
    public var tokenShare: Double
    /// ‖o − ô‖ / ‖o‖ of the probe attention outputs.
    public var relativeL2: Summary
    public var cosine: Summary
    /// Dense softmax mass on the kept tokens (1 − the mass lost on evicted ones).
    public var massRecall: Summary
    /// Share of the dense top-k tokens kept.
    public var topKRecall: Summary
    /// Per layer, when asked.
    public var layers: [LayerResult]?
    /// Why the run failed (the policy refused the capture), instead of metrics.
    public var error: String?
    /// The spec that ran, when fitting it to the capture changed it (a default window longer
    /// than the capture's window queries); `warnings` says how.
    public var ran: String?
    /// What the policy adapted without failing, one line each.
    public var warnings: [String]?

    /// The spec that ran: `ran`, else the run's.
    public var policy: String { ran ?? run.policy }

    public struct LayerResult: Sendable, Hashable, Codable {
        public var layer: Int
        /// The layer's index in the model.
        public var sourceLayer: Int
        public var kind: String
        public var memoryRatio: Double
        public var relativeL2: Summary
        public var massRecall: Summary
        /// Per query head, when asked: mean relative L2 and mean mass recall.
        public var heads: [HeadResult]?
    }

    public struct HeadResult: Sendable, Hashable, Codable {
        public var queryHead: Int
        public var relativeL2: Double
        public var massRecall: Double
    }
}
