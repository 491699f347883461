/// One policy (at one budget) measured against the dense run over every chunk.
public struct FidelityRunResult: Sendable, Hashable, Codable {
    /// The sweep run: template, canonical spec, budget.
    public var run: SweepPlan.Run
    /// Session bytes at the end of each chunk (prompt and continuation), summed over chunks, and
    /// the dense f16 bytes of the same tokens.
    public var bytes: Int
    public var denseBytes: Int
    /// `bytes / denseBytes`.
    public var memoryRatio: Double
    /// The next-token comparison over every chunk's continuation; nil when the run failed.
    public var summary: FidelitySummary?
    /// Why the run failed (the policy refused the prompt), instead of a summary.
    public var error: String?

    public init(run: SweepPlan.Run, bytes: Int, denseBytes: Int, summary: FidelitySummary?, error: String? = nil) {
        self.run = run
        self.bytes = bytes
        self.denseBytes = denseBytes
        self.memoryRatio = Double(bytes) / Double(max(1, denseBytes))
        self.summary = summary
        self.error = error
    }
}
