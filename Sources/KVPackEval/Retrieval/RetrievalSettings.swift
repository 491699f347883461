import Foundation

/// The shape of a needle-retrieval evaluation: `samples` tasks at each context length and needle
/// depth, each answered greedily in at most `answerTokens` tokens.
public struct RetrievalSettings: Sendable, Hashable, Codable {
    /// Context lengths in tokens: each task's prompt plus its `answerTokens` fit in one (as
    /// RULER counts a sequence length), under the model's tokenizer.
    public var contexts: [Int]
    /// Needle depths, percent of the filler's tokens before the needle (0: right after the
    /// instructions; 100: right before the question).
    public var depths: [Double]
    /// Tasks (needles, keys, filler offsets) per context and depth.
    public var samples: Int
    /// Seed of every task's key, number and filler offset.
    public var seed: UInt64
    /// Tokens generated at most per answer (fewer when the number appears or EOS comes first).
    public var answerTokens: Int
    /// Observation-window queries handed to the policies at prefill (the prompt's last tokens:
    /// the question).
    public var window: Int
    /// Tokens per page of the sessions.
    public var pageSize: Int

    public static let defaultContexts = [1024, 2048, 4096, 8192]
    public static let defaultDepths: [Double] = [0, 25, 50, 75, 100]

    /// - Throws: `RetrievalError.nonPositive` naming the option that is not positive,
    ///   `.badList` for an empty list, `.depthOutOfRange`.
    public init(contexts: [Int] = defaultContexts, depths: [Double] = defaultDepths, samples: Int = 2, seed: UInt64 = 0,
                answerTokens: Int = 12, window: Int = 32, pageSize: Int = 16) throws(RetrievalError) {
        for (what, value) in [("--samples", samples), ("--answer-tokens", answerTokens), ("--window", window), ("--page-size", pageSize)]
        where value <= 0 {
            throw .nonPositive(what: what, value: value)
        }
        if contexts.isEmpty { throw .badList(option: "--contexts", entry: "", expected: "a token count like 4096 or 4K") }
        if depths.isEmpty { throw .badList(option: "--depths", entry: "", expected: "a percentage in 0...100") }
        for c in contexts where c <= 0 { throw .nonPositive(what: "--contexts", value: c) }
        for d in depths where !(d >= 0 && d <= 100) { throw .depthOutOfRange(d) }
        self.contexts = contexts
        self.depths = depths
        self.samples = samples
        self.seed = seed
        self.answerTokens = answerTokens
        self.window = window
        self.pageSize = pageSize
    }

    /// Tasks in the evaluation: contexts × depths × samples.
    public var taskCount: Int { contexts.count * depths.count * samples }

    /// Context lengths as `--contexts` takes them: comma-separated token counts, `K` meaning
    /// 1024 (`1K,2K,4K,8K`, `1500`, `0.5K`).
    /// - Throws: `RetrievalError.badList` naming the entry that does not parse.
    public static func contexts(parsing text: String) throws(RetrievalError) -> [Int] {
        var out: [Int] = []
        for entry in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let expected = "a token count like 4096 or 4K"
            if let n = Int(entry) { out.append(n); continue }
            guard entry.uppercased().hasSuffix("K"), let k = Double(entry.dropLast()), k.isFinite,
                  (k * 1024).rounded() == k * 1024, k * 1024 < Double(Int32.max) else {
                throw .badList(option: "--contexts", entry: entry, expected: expected)
            }
            out.append(Int(k * 1024))
        }
        return out
    }

    /// Depths as `--depths` takes them: comma-separated percentages (`0,25,50,75,100`).
    /// - Throws: `RetrievalError.badList` for an entry that is not a number (range checks are
    ///   `init`'s).
    public static func depths(parsing text: String) throws(RetrievalError) -> [Double] {
        var out: [Double] = []
        for entry in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let d = Double(entry.hasSuffix("%") ? String(entry.dropLast()) : entry) else {
                throw .badList(option: "--depths", entry: entry, expected: "a percentage in 0...100")
            }
            out.append(d)
        }
        return out
    }

    /// `4K` for multiples of 1024, else the count.
    public static func label(context: Int) -> String {
        context % 1024 == 0 ? "\(context / 1024)K" : "\(context)"
    }
}
