/// The final (normalized) hidden states of a run of tokens, `[tokens, width]` row-major: what the
/// output head turns into logits (`LanguageModel.logits(_:rows:)`).
public struct HiddenStates: Sendable {
    /// Token rows.
    public let tokens: Int
    /// Floats per row (`d_model`).
    public let width: Int
    /// `tokens × width` floats.
    public let values: [Float]
    /// Where the pass that made them spent its time.
    public let profile: ForwardProfile

    init(tokens: Int, width: Int, values: [Float], profile: ForwardProfile) {
        self.tokens = tokens
        self.width = width
        self.values = values
        self.profile = profile
    }
}
