/// One needle-in-a-haystack task in the form of RULER's single-needle task (NIAH single): a key
/// and a 7-digit value stated once ("One of the special magic numbers for amber-lantern is:
/// 4821907.") at a depth of a filler text, and at the end the question for that key's number,
/// with the answer's opening written out so that the model's next tokens are the number.
public struct NeedleTask: Sendable, Hashable {
    /// The context (prompt + answer tokens), needle depth (percent) and sample this task is for.
    public var context: Int
    public var depth: Double
    public var sample: Int
    /// The needle's key (`adjective-noun`) and value (7 digits, no leading zero).
    public var key: String
    public var value: String
    /// The whole prompt: instructions, filler with the needle, question.
    public var text: String
    /// The prompt's token ids (BOS first when the tokenizer adds one).
    public var tokens: [Int]
    /// Index in `tokens` of the needle's first token.
    public var needlePosition: Int
    /// Index of the filler's first token, and the filler's token count (the prompt's tokens
    /// less those of the same prompt without filler).
    public var fillerStart: Int
    public var fillerTokens: Int

    /// The needle's depth as placed: filler tokens before it over all filler tokens, in [0, 1]
    /// (0 with no filler).
    public var placedDepth: Double {
        fillerTokens > 0 ? Double(needlePosition - fillerStart) / Double(fillerTokens) : 0
    }

    /// Whether a generated answer holds the value (RULER's `string_match_all` for one value:
    /// the value appears in the text).
    public func isAnswered(by generated: String) -> Bool { generated.contains(value) }

    /// The task's instructions (RULER's NIAH template), its needle sentence and its question.
    public static let instructions =
        "Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz you about the numbers afterwards."

    public static func needle(key: String, value: String) -> String { "One of the special magic numbers for \(key) is: \(value)." }

    public static func question(key: String) -> String {
        "What is the special magic number for \(key) mentioned in the provided text? The special magic number for \(key) mentioned in the provided text is"
    }

    /// The prompt: instructions, then `filler` with the needle before sentence `index`, then the
    /// question, on three lines.
    public static func prompt(filler: [String], needleBefore index: Int, key: String, value: String) -> String {
        let haystack = filler[..<index] + [needle(key: key, value: value)] + filler[index...]
        return instructions + "\n" + haystack.joined(separator: " ") + "\n" + question(key: key)
    }
}

extension NeedleTask {
    /// What a report keeps of a task (not its text or tokens).
    public struct Summary: Sendable, Hashable, Codable {
        public var context: Int
        public var depth: Double
        public var sample: Int
        public var key: String
        public var value: String
        public var promptTokens: Int
        public var needlePosition: Int
        /// `NeedleTask.placedDepth` in percent.
        public var placedDepth: Double
    }

    public var summary: Summary {
        Summary(context: context, depth: depth, sample: sample, key: key, value: value, promptTokens: tokens.count,
                needlePosition: needlePosition, placedDepth: (100 * placedDepth * 100).rounded() / 100)
    }
}
