/// The final (normalized) hidden states of a run of tokens, `[tokens, width]` row-major: what the
/// output head turns into logits (`LanguageModel.logits(_:rows:)`).
public struct HiddenStates: Sendable {
    /// Token rows.
    public let tokens: Int
    /// Floats per row (`d_model`).
    public let width: Int
    /// `tokens × width` floats.
    public let values: [Float]

    init(tokens: Int, width: Int, values: [Float]) {
        self.tokens = tokens
        self.width = width
        self.values = values
    }
}
