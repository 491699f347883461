/// Absolute token positions of one captured sequence.
///
/// - `tokens`: positions of the cached tokens, `[tokens]` (usually `0..<tokens`);
/// - `window`: positions of the observation-window queries, `[window]` (usually the prompt's last);
/// - `probes`: positions of the probe tokens after the prompt, `[probes]` (empty when none).
///
/// Each list is non-negative and strictly increasing.
public struct SequencePositions: Sendable, Hashable, Codable {
    public var tokens: [Int]
    public var window: [Int]
    public var probes: [Int]

    /// - Throws: `CaptureError.positionsNotIncreasing` naming the list and index.
    public init(tokens: [Int], window: [Int], probes: [Int] = []) throws(CaptureError) {
        for (name, list) in [("positions", tokens), ("query_positions", window), ("probe_positions", probes)] {
            for i in list.indices where list[i] < 0 || (i > 0 && list[i] <= list[i - 1]) {
                throw .positionsNotIncreasing(name: name, index: i)
            }
        }
        self.tokens = tokens
        self.window = window
        self.probes = probes
    }

    /// A prompt of `tokens` positions `0..<tokens`, the last `window` of which are the
    /// observation window, followed by `probes` probe positions.
    /// - Throws: `CaptureError.invalidContiguousPositions` unless tokens > 0, 0 <= window <= tokens
    ///   and probes >= 0.
    public static func contiguous(tokens: Int, window: Int, probes: Int) throws(CaptureError) -> SequencePositions {
        guard tokens > 0, (0...tokens).contains(window), probes >= 0 else {
            throw .invalidContiguousPositions(tokens: tokens, window: window, probes: probes)
        }
        return try SequencePositions(tokens: Array(0..<tokens), window: Array(tokens - window..<tokens),
                                      probes: Array(tokens..<tokens + probes))
    }
}
