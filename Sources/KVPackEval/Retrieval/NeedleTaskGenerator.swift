import KVPackModel

/// Makes needle tasks from a filler text, deterministically from a seed: for a context, depth
/// and sample, the key, the 7-digit value and the filler sentence to start at are drawn from
/// (seed, context, depth, sample); filler sentences follow from there (the text repeated as
/// needed) for as many as fit, measured with the model's tokenizer, so that the prompt plus
/// `answerTokens` fit the context; the needle goes at the sentence boundary nearest the depth,
/// in filler tokens.
///
/// ```swift
/// let generator = try NeedleTaskGenerator(filler: FillerText(gpl3), tokenizer: tokenizer, seed: 0, answerTokens: 12)
/// let task = try generator.task(context: 4096, depth: 50, sample: 0)   // task.tokens.count <= 4084
/// ```
public struct NeedleTaskGenerator: Sendable {
    public let filler: FillerText
    public let tokenizer: any TextTokenizer
    public let seed: UInt64
    /// Tokens each context keeps free for the answer.
    public let answerTokens: Int
    /// Tokens of each filler sentence as it appears in a prompt (after a space), estimated
    /// alone: the prompt's real count is measured whole.
    let sentenceTokens: [Int]

    /// - Throws: `RetrievalError.noFiller` for a text without sentences, `.nonPositive` for
    ///   `answerTokens`, `.tokenizer`.
    public init(filler: FillerText, fillerName: String = "the text", tokenizer: any TextTokenizer, seed: UInt64,
                answerTokens: Int) throws(RetrievalError) {
        guard !filler.sentences.isEmpty else { throw .noFiller(fillerName) }
        guard answerTokens > 0 else { throw .nonPositive(what: "--answer-tokens", value: answerTokens) }
        let bos = tokenizer.addsBOS ? 1 : 0
        var counts: [Int] = []
        do throws(TokenizerError) {
            for s in filler.sentences { counts.append(max(1, try tokenizer.encode(" " + s).count - bos)) }
        } catch {
            throw .tokenizer(error)
        }
        self.filler = filler
        self.tokenizer = tokenizer
        self.seed = seed
        self.answerTokens = answerTokens
        self.sentenceTokens = counts
    }

    /// The task for `context` tokens, a needle at `depth` percent, sample `sample`.
    /// - Throws: `RetrievalError.contextTooShort` when the prompt without filler and the answer
    ///   do not fit, `.depthOutOfRange`, `.tokenizer`.
    public func task(context: Int, depth: Double, sample: Int) throws(RetrievalError) -> NeedleTask {
        guard depth >= 0 && depth <= 100 else { throw .depthOutOfRange(depth) }
        let draws = NeedleDraws(seed: seed, context: context, depth: depth, sample: sample)
        let key = draws.key, value = draws.value, start = draws.index(below: filler.sentences.count)
        let budget = context - answerTokens
        let fixed = try count(NeedleTask.prompt(filler: [], needleBefore: 0, key: key, value: value))
        guard fixed <= budget else { throw .contextTooShort(context: context, needed: fixed + answerTokens) }
        // As many sentences as the estimate allows, then fewer until the whole prompt fits.
        var n = 0, estimate = fixed
        while estimate + sentenceTokens[(start + n) % sentenceTokens.count] <= budget {
            estimate += sentenceTokens[(start + n) % sentenceTokens.count]
            n += 1
        }
        while true {
            let sentences = (0..<n).map { filler.sentence(start + $0) }
            let counts = (0..<n).map { sentenceTokens[(start + $0) % sentenceTokens.count] }
            let index = Self.boundary(nearest: depth / 100, counts: counts)
            let text = NeedleTask.prompt(filler: sentences, needleBefore: index, key: key, value: value)
            let tokens = try encode(text)
            if tokens.count > budget && n > 0 {
                // Drop sentences from the end worth the excess (at least one), then measure again.
                var excess = tokens.count - budget
                while excess > 0 && n > 0 {
                    n -= 1
                    excess -= counts[n]
                }
                continue
            }
            let head = NeedleTask.instructions + "\n"
            let fillerStart = try count(head)
            let needlePosition = index == 0 ? fillerStart : try count(head + sentences[..<index].joined(separator: " "))
            return NeedleTask(context: context, depth: depth, sample: sample, key: key, value: value, text: text, tokens: tokens,
                              needlePosition: needlePosition, fillerStart: fillerStart, fillerTokens: tokens.count - fixed)
        }
    }

    /// The sentence boundary (0 ... counts.count: before sentence i) whose share of the tokens
    /// before it is nearest `share`; the earlier one on a tie.
    static func boundary(nearest share: Double, counts: [Int]) -> Int {
        let total = Double(counts.reduce(0, +)), target = share * total
        var best = 0, bestDistance = target, before = 0.0
        for (i, c) in counts.enumerated() {
            before += Double(c)
            let distance = abs(before - target)
            if distance < bestDistance {
                best = i + 1
                bestDistance = distance
            }
        }
        return best
    }

    func encode(_ text: String) throws(RetrievalError) -> [Int] {
        do throws(TokenizerError) { return try tokenizer.encode(text) } catch { throw .tokenizer(error) }
    }

    func count(_ text: String) throws(RetrievalError) -> Int { try encode(text).count }
}
