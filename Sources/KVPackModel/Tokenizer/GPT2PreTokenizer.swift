/// SmolLM2's pre-tokenizer (`tokenizer.ggml.pre` = `smollm`; its tokenizer.json): every numeric
/// character is split off on its own (`Digits(individual_digits: true)`), then each piece is cut
/// by GPT-2's byte-level regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// implemented by hand (leftmost alternative first, greedy runs, the look-ahead's backtracking).
/// `\s` is Unicode White_Space, `\p{L}` and `\p{N}` the letter and number general categories.
enum GPT2PreTokenizer {
    private enum Kind { case letter, number, space, other }

    private static func kind(_ s: Unicode.Scalar) -> Kind {
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Calls `body` with each pre-token of `text`, in order, as a range of `scalars`.
    static func split(_ scalars: [Unicode.Scalar], _ body: (Range<Int>) -> Void) {
        let kinds = scalars.map(kind)
        var start = 0
        // Digits: each number character is a piece of its own; the runs between are split by the regex.
        for i in 0..<scalars.count where kinds[i] == .number {
            splitRegex(scalars, kinds, start..<i, body)
            body(i..<i + 1)
            start = i + 1
        }
        splitRegex(scalars, kinds, start..<scalars.count, body)
    }

    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    private static func splitRegex(_ s: [Unicode.Scalar], _ kinds: [Kind], _ piece: Range<Int>, _ body: (Range<Int>) -> Void) {
        let end = piece.upperBound
        var i = piece.lowerBound
        func run(from j: Int, _ k: Kind) -> Int {
            var j = j
            while j < end, kinds[j] == k { j += 1 }
            return j
        }
        while i < end {
            var next = i + 1
            if s[i] == "'", let c = contractions.first(where: { c in
                i + c.count < end && zip(c, s[(i + 1)...]).allSatisfy { $0 == $1 }
            }) {
                next = i + 1 + c.count
            } else if kinds[i] != .space {
                next = run(from: i, kinds[i])
            } else if s[i] == " ", i + 1 < end, kinds[i + 1] != .space {
                next = run(from: i + 1, kinds[i + 1])  // ` ?\p{L}+`, ` ?\p{N}+` or ` ?[^\s\p{L}\p{N}]+`
            } else {
                // `\s+(?!\S)`: the whole run at the end of the piece, else all but its last
                // character; a single space before a non-space falls to `\s+`.
                let runEnd = run(from: i, .space)
                next = runEnd == end || runEnd - i == 1 ? runEnd : runEnd - 1
            }
            body(i..<next)
            i = next
        }
    }
}
