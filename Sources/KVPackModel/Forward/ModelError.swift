import KVPack

/// Why a model could not be loaded or run.
public enum ModelError: Error, CustomStringConvertible {
    /// The file's `general.architecture` is not one the forward pass runs.
    case unsupportedArchitecture(String)
    /// A metadata key the architecture needs is absent or has the wrong type.
    case missingMetadata(key: String)
    /// A hyperparameter read from metadata is not usable (e.g. heads not dividing the width).
    case invalidHyperparameter(name: String, value: String, expected: String)
    /// A weight tensor the architecture needs is not in the file.
    case missingTensor(String)
    /// A weight tensor has another shape than the hyperparameters imply (`[out, in]` order).
    case wrongTensorShape(name: String, expected: [Int], found: [Int])
    /// The GGUF file could not be read, or a tensor not dequantized.
    case file(GGUFError)
    /// A token id outside `0..<vocabulary`.
    case tokenOutOfRange(token: Int, index: Int, vocabulary: Int)
    /// An empty token list where tokens are needed.
    case noTokens
    /// A prompt chunk that is not a positive number of tokens.
    case invalidChunk(Int)
    /// Positions that cannot be used (negative, or not after the session's last one).
    case invalidPositions(String)
    /// The session was made for a model of other shapes.
    case sessionOfAnotherModel(expected: String, found: String)
    /// The KV-cache session (or its page pool) refused a call.
    case session(SessionError)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a):
            return "architecture '\(a)' is not supported (supported: \(ModelArchitecture.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .missingMetadata(let key):
            return "metadata key '\(key)' is missing or has the wrong type; the model file is incomplete or not a decoder this runtime knows"
        case .invalidHyperparameter(let name, let value, let expected):
            return "hyperparameter \(name) = \(value) is not usable: expected \(expected)"
        case .missingTensor(let name):
            return "tensor '\(name)' is missing from the model file"
        case .wrongTensorShape(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found) ([out, in]); the hyperparameters need \(expected)"
        case .file(let error):
            return "\(error)"
        case .tokenOutOfRange(let token, let index, let vocabulary):
            return "token \(index) has id \(token), outside the vocabulary 0..<\(vocabulary)"
        case .noTokens:
            return "no tokens to run: pass at least one token id"
        case .invalidChunk(let chunk):
            return "the prompt chunk must be a positive number of tokens; got \(chunk)"
        case .invalidPositions(let why):
            return "invalid positions: \(why)"
        case .sessionOfAnotherModel(let expected, let found):
            return "the session is for another model (\(found)); this model has \(expected): make it with LanguageModel.makeSession(pool:policy:)"
        case .session(let e):
            return "KV-cache session: \(e)"
        }
    }
}
