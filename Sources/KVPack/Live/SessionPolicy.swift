/// The prompt of one sequence, every layer, as a session's `prefill` receives it.
public struct SessionPrompt: Sendable {
    /// Position of every prompt token, `[tokens]`, strictly increasing.
    public var positions: [Int]
    public var layers: [Layer]

    public struct Layer: Sendable {
        /// `[kvHeads, tokens, headDim]`, post-RoPE, as the model's cache holds them.
        public var keys: HeadTensor<Float16>
        public var values: HeadTensor<Float16>
        /// The last `window` prompt tokens' queries, `[queryHeads, window, headDim]` (the
        /// observation window of SnapKV-style scorers); nil when the caller has none.
        public var windowQueries: HeadTensor<Float16>?

        public init(keys: HeadTensor<Float16>, values: HeadTensor<Float16>, windowQueries: HeadTensor<Float16>? = nil) {
            self.keys = keys
            self.values = values
            self.windowQueries = windowQueries
        }
    }

    public init(positions: [Int], layers: [Layer]) {
        self.positions = positions
        self.layers = layers
    }
}

/// What one stored head keeps: indices into its tokens (increasing) and each kept token's key and
/// value encoding.
public struct HeadSelection: Sendable, Hashable {
    public var kept: [Int]
    public var keyEncodings: [PageEncoding]
    public var valueEncodings: [PageEncoding]

    public init(kept: [Int], keyEncodings: [PageEncoding], valueEncodings: [PageEncoding]) {
        self.kept = kept
        self.keyEncodings = keyEncodings
        self.valueEncodings = valueEncodings
    }

    /// Every one of `tokens` tokens in f16.
    public static func all(_ tokens: Int) -> HeadSelection {
        HeadSelection(kept: Array(0..<tokens), keyEncodings: Array(repeating: .f16, count: tokens),
                      valueEncodings: Array(repeating: .f16, count: tokens))
    }
}

/// A policy's decision at prefill.
public struct SessionPlan: Sendable {
    /// `[layer][storedHead]`.
    public var layers: [[HeadSelection]]
    /// Stored heads per KV head (1, or the group size when a policy keeps one cache per query
    /// head); stored head `h` reads KV head `h / repeatFactor`.
    public var repeatFactor: Int
    /// Share of each bitmap row pruned, keys and values.
    public var keySparsity: Double
    public var valueSparsity: Double
    /// Whatever the policy needs again at decode (budgets it resolved at prefill).
    public var state: (any Sendable)?

    public init(layers: [[HeadSelection]], repeatFactor: Int = 1, keySparsity: Double = 0.5, valueSparsity: Double = 0.5,
                state: (any Sendable)? = nil) {
        self.layers = layers
        self.repeatFactor = repeatFactor
        self.keySparsity = keySparsity
        self.valueSparsity = valueSparsity
        self.state = state
    }
}

/// A compression policy driving a `CacheSession`: it chooses the prompt's kept tokens and
/// encodings at prefill, and may evict or re-encode after each decode step of a layer, acting on
/// the session's live pages (`LiveDecodeStep`), never on dense tensors the session dropped.
public protocol SessionPolicy: Sendable, CustomStringConvertible {
    /// Kept tokens and encodings of every layer's stored heads for `prompt`.
    func prefill(_ prompt: SessionPrompt, model: ModelFacts, pageSize: Int) throws(SessionError) -> SessionPlan
    /// Whether `decodeStep` ever changes anything (the session skips building the step if not).
    var hasDecodeStages: Bool { get }
    /// After a decode token of `step.layer` was appended and attended: edit `step.selections`.
    func decodeStep(_ step: inout LiveDecodeStep) throws(SessionError)
}

/// No compression: every token in f16.
public struct DenseSessionPolicy: SessionPolicy {
    public init() {}
    public var description: String { "dense" }
    public var hasDecodeStages: Bool { false }
    public func prefill(_ prompt: SessionPrompt, model: ModelFacts, pageSize: Int) throws(SessionError) -> SessionPlan {
        SessionPlan(layers: prompt.layers.map { l in Array(repeating: .all(l.keys.tokens), count: l.keys.heads) })
    }
    public func decodeStep(_ step: inout LiveDecodeStep) throws(SessionError) {}
}
