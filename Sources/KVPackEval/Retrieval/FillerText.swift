/// The filler of needle tasks: a text's sentences in order, whitespace collapsed to single
/// spaces. A sentence ends at a word ending in `.`, `?` or `!` (a closing quote or parenthesis
/// may follow) once it has at least `minimumWords` words, so section numbers (`0.`) and
/// abbreviations join the sentence they open.
public struct FillerText: Sendable, Hashable {
    public let sentences: [String]
    /// Words a sentence has at least before a full stop ends it.
    public static let minimumWords = 4

    public init(_ text: String) {
        var sentences: [String] = [], words: [Substring] = []
        for word in text.split(whereSeparator: \.isWhitespace) {
            words.append(word)
            let end = word.last { !"\")]'".contains($0) }
            if words.count >= Self.minimumWords, let end, ".?!".contains(end) {
                sentences.append(words.joined(separator: " "))
                words.removeAll(keepingCapacity: true)
            }
        }
        if !words.isEmpty { sentences.append(words.joined(separator: " ")) }
        self.sentences = sentences
    }

    /// Sentence `i` of the filler repeated end to end: `sentences[i % count]`.
    public func sentence(_ i: Int) -> String { sentences[i % sentences.count] }
}
