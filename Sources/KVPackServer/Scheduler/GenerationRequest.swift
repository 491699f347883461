import KVPack
import KVPackModel

/// A compression policy the server runs: its canonical spec and the policy built from it.
public struct ServedPolicy: Sendable {
    /// The canonical spec (`PolicyPipeline.description`: defaults filled in).
    public let spec: String
    public let policy: any SessionPolicy

    public init(spec: String, policy: any SessionPolicy) {
        self.spec = spec
        self.policy = policy
    }
}

/// A generation the scheduler runs, its prompt tokenized and every setting checked.
public struct GenerationRequest: Sendable {
    /// The prompt's token ids (BOS first when the tokenizer adds one).
    public var prompt: [Int]
    /// The first tokens of `prompt` that other requests may share (a chat's system turn): the
    /// scheduler compresses them once into a session of their own and forks it. Nil: none.
    public var sharedPrefixLength: Int?
    /// Most tokens to generate (at least 1).
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Text that ends the generation (not part of the output).
    public var stops: [String]
    /// Tokens that end the generation (EOS, the chat template's end of turn; not part of the output).
    public var stopTokens: Set<Int>
    /// Generate `maxTokens` tokens whatever comes (stop tokens and the model's end of sequence
    /// emitted like any other token; stop strings still apply): load tests of fixed lengths.
    public var ignoreEndOfSequence: Bool
    public var policy: ServedPolicy

    public init(prompt: [Int], sharedPrefixLength: Int? = nil, maxTokens: Int, sampling: SamplingParameters, stops: [String] = [],
                stopTokens: Set<Int> = [], ignoreEndOfSequence: Bool = false, policy: ServedPolicy) {
        self.prompt = prompt
        self.sharedPrefixLength = sharedPrefixLength
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stops = stops
        self.stopTokens = stopTokens
        self.ignoreEndOfSequence = ignoreEndOfSequence
        self.policy = policy
    }
}

/// Why a generation ended (OpenAI's `finish_reason`).
public enum FinishReason: String, Sendable, Codable {
    /// A stop token or stop string.
    case stop
    /// `max_tokens`, or the end of the context.
    case length
}

/// What a finished generation used.
public struct GenerationUsage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens that came from a shared (forked) prefix session.
    public var sharedPrefixTokens: Int
    /// The session's cache bytes at the end (`CacheSession.byteCount`).
    public var cacheBytes: Int
    /// What a dense f16 cache of the same tokens takes (`CacheSession.denseByteCount`).
    public var denseBytes: Int
    /// The policy that ran (`dense` when the prompt was too short for the request's policy).
    public var policy: String
}

/// What the scheduler tells a request's consumer, in order: text as it is generated, then one
/// `finished` or `failed`.
public enum GenerationEvent: Sendable {
    /// The request has its cache and its first token is next (its prompt ran).
    case started
    /// Newly generated text (never a character cut in two, never part of a stop string).
    case text(String)
    case finished(FinishReason, GenerationUsage)
    /// The request could not run or continue.
    case failed(APIError)
}
