import KVPack

/// A decoder language model (Llama family or Gemma-3) loaded from a GGUF file, its weights
/// dequantized to Float once, run on the CPU with OpenBLAS for the matrix products. Attention goes
/// through a KVPack `CacheSession`: each layer's post-RoPE keys and values are appended to it and
/// its queries attend over the session's pages, so a compressed session is a compressed model.
///
/// ```swift
/// let model = try LanguageModel(contentsOf: try ModelLocator().locate(.smollm2))
/// let pool = try PagePool(.init(budgetBytes: 1 << 30, headDim: model.hyperparameters.headDim))
/// let session = try model.makeSession(pool: pool)
/// let hidden = try model.forward(promptTokens, startingAt: 0, session: session)
/// let next = try model.logits(hidden, rows: hidden.tokens - 1..<hidden.tokens).argmax(row: 0)
/// ```
///
/// A model is immutable and `Sendable`: many sessions run on one model at once.
public final class LanguageModel: Sendable {
    public let hyperparameters: ModelHyperparameters
    let weights: ModelWeights

    init(hyperparameters: ModelHyperparameters, weights: ModelWeights) {
        self.hyperparameters = hyperparameters
        self.weights = weights
    }

    /// The facts a KV-cache session of this model needs (`ModelHyperparameters.facts`).
    public var facts: ModelFacts { hyperparameters.facts }

    /// A new, empty session of this model on `pool` (whose head dim must be the model's).
    /// - Throws: `ModelError.session` when the pool's head dim differs from the model's.
    public func makeSession(pool: PagePool, policy: any SessionPolicy = DenseSessionPolicy()) throws(ModelError) -> CacheSession {
        do throws(SessionError) {
            return try CacheSession(pool: pool, model: facts, policy: policy)
        } catch {
            throw .session(error)
        }
    }
}

extension LanguageModel {
    /// Loads the GGUF model at `path`: hyperparameters from its metadata, every weight
    /// dequantized to Float (about 4 bytes per parameter in memory: 0.5 GB for SmolLM2-135M,
    /// 1.1 GB for Gemma-3-270m).
    /// - Throws: `ModelError`: the file unreadable (`.file`), an unsupported architecture, a
    ///   missing or malformed hyperparameter or tensor, an unsupported tensor type.
    public convenience init(contentsOf path: String) throws(ModelError) {
        let file: GGUFFile
        do throws(GGUFError) { file = try GGUFFile(contentsOf: path) } catch { throw .file(error) }
        try self.init(file: file)
    }

    /// Loads the model in an opened GGUF file (see `init(contentsOf:)`).
    public convenience init(file: GGUFFile) throws(ModelError) {
        try self.init(reading: file)
    }

    /// Reads hyperparameters and weights from `source`.
    convenience init(reading source: some ModelSource) throws(ModelError) {
        let hp = try ModelHyperparameters(reading: source)
        self.init(hyperparameters: hp, weights: try ModelWeights(reading: source, hyperparameters: hp))
    }
}
