import Foundation
import KVPackModel
import Testing
@testable import KVPackEval

/// One token per whitespace-separated word, BOS first: token counts and positions can be worked
/// out by hand.
struct WordTokenizer: TextTokenizer {
    var vocabularySize: Int { 2 }
    var bosTokenID: Int? { 0 }
    var eosTokenID: Int? { nil }
    var addsBOS: Bool { true }
    func encode(_ text: String) throws(TokenizerError) -> [Int] { [0] + text.split(whereSeparator: \.isWhitespace).map { _ in 1 } }
    func decode(_ ids: [Int]) throws(TokenizerError) -> String { "" }
}

@Suite("Needle tasks: filler, generator, answers, settings")
struct NeedleTaskTests {
    /// Ten sentences of five words each.
    static let fiveWordFiller = FillerText((1...10).map { "Filler sentence number \($0) here." }.joined(separator: "\n  "))

    @Test("the filler is cut after . ? ! once a sentence has four words, whitespace collapsed, closing quotes kept")
    func fillerSentences() {
        let f = FillerText("0. Definitions.  This License refers\nto version 3. A short one. Is it? Yes it is really so! He said \"stop it now.\" Tail words")
        #expect(f.sentences == ["0. Definitions. This License refers to version 3.", "A short one. Is it?", "Yes it is really so!",
                                "He said \"stop it now.\"", "Tail words"])
        #expect(f.sentence(6) == "A short one. Is it?") // repeated end to end
        #expect(FillerText(" \n ").sentences.isEmpty)
    }

    // One word per token: BOS 1, instructions 23, needle 10 ("One of the special magic numbers for
    // KEY is: VALUE."), question 25: 59 tokens without filler; 12 kept for the answer.
    @Test("with one token per word, the prompt's length, needle position and filler are as worked by hand", arguments: [
        (depth: 50.0, position: 44), (depth: 30, position: 34), (depth: 0, position: 24), (depth: 100, position: 64), (depth: 45, position: 44),
    ])
    func handWorkedPositions(depth: Double, position: Int) throws {
        let generator = try NeedleTaskGenerator(filler: Self.fiveWordFiller, tokenizer: WordTokenizer(), seed: 7, answerTokens: 12)
        // Budget 111 - 12 = 99 tokens: 59 fixed + 40 of filler, 8 sentences of 5.
        let task = try generator.task(context: 111, depth: depth, sample: 0)
        #expect(task.tokens.count == 99 && task.fillerTokens == 40 && task.fillerStart == 24)
        #expect(task.needlePosition == position, "depth \(depth)")
        #expect(task.placedDepth == Double(position - 24) / 40)
        // The needle sits at `position` in the text's words too (BOS is token 0).
        let words = task.text.split(whereSeparator: \.isWhitespace)
        #expect(words[position - 1] == "One" && words[position + 6] == "\(task.key)" && words[position + 8] == "\(task.value).")
        #expect(task.text.hasPrefix(NeedleTask.instructions + "\n") && task.text.hasSuffix("\n" + NeedleTask.question(key: task.key)))
        #expect(task.text.components(separatedBy: task.value).count == 2, "the value appears once")
        // A budget of 87 tokens holds 5 sentences.
        #expect(try generator.task(context: 99, depth: depth, sample: 0).fillerTokens == 25)
    }

    @Test("a context without room for instructions, needle, question and answer is refused, with what it needs")
    func contextTooShort() throws {
        let generator = try NeedleTaskGenerator(filler: Self.fiveWordFiller, tokenizer: WordTokenizer(), seed: 0, answerTokens: 12)
        #expect { try generator.task(context: 70, depth: 50, sample: 0) } throws: {
            "\($0)".hasPrefix("a context of 70 tokens cannot hold the task") && "\($0)".contains("need at least 71")
        }
        let bare = try generator.task(context: 71, depth: 50, sample: 0)
        #expect(bare.tokens.count == 59 && bare.fillerTokens == 0 && bare.placedDepth == 0)
        #expect { try generator.task(context: 200, depth: 100.5, sample: 0) } throws: { "\($0)".contains("outside 0...100") }
        #expect { try NeedleTaskGenerator(filler: FillerText(""), fillerName: "empty.txt", tokenizer: WordTokenizer(), seed: 0, answerTokens: 12) }
            throws: { "\($0)" == "the filler text empty.txt has no sentence to fill the context with: give a --text of prose" }
    }

    @Test("the same seed, context, depth and sample give the same task; other samples and seeds other keys and values")
    func deterministic() throws {
        let generator = try NeedleTaskGenerator(filler: Self.fiveWordFiller, tokenizer: WordTokenizer(), seed: 3, answerTokens: 12)
        let a = try generator.task(context: 300, depth: 25, sample: 1), b = try generator.task(context: 300, depth: 25, sample: 1)
        #expect(a == b)
        let others = try (0..<8).map { try generator.task(context: 300, depth: 25, sample: $0) }
            + [try NeedleTaskGenerator(filler: Self.fiveWordFiller, tokenizer: WordTokenizer(), seed: 4, answerTokens: 12).task(context: 300, depth: 25, sample: 1)]
        #expect(Set(others.map(\.value)).count == others.count)
        #expect(Set(others.map(\.text)).count == others.count)
        for t in others {
            #expect(t.value.count == 7 && t.value.allSatisfy { $0.isNumber } && t.value.first != "0")
            #expect(t.key.split(separator: "-").count == 2)
        }
    }

    @Test("an answer is correct when it holds the value (RULER's string match), wrong otherwise", arguments: [
        (" 4821907", true), (" 4821907.", true), ("The special magic number is 4821907, as stated", true), ("48219070", true),
        (" 9365628.", false), (" 482190", false), (" 4821 907", false), ("4,821,907", false), ("", false),
    ])
    func answerMatching(answer: String, correct: Bool) {
        let task = NeedleTask(context: 100, depth: 50, sample: 0, key: "amber-lantern", value: "4821907", text: "", tokens: [],
                              needlePosition: 0, fillerStart: 0, fillerTokens: 0)
        #expect(task.isAnswered(by: answer) == correct)
    }

    @Test("--contexts and --depths parse K suffixes and percent signs; bad entries and ranges are refused, naming them")
    func settings() throws {
        #expect(try RetrievalSettings.contexts(parsing: "1K, 2k,1500,0.5K") == [1024, 2048, 1500, 512])
        #expect(try RetrievalSettings.depths(parsing: "0, 12.5,50%,100") == [0, 12.5, 50, 100])
        #expect { try RetrievalSettings.contexts(parsing: "4K,big") } throws: { "\($0)" == "--contexts: 'big' is not a token count like 4096 or 4K" }
        #expect { try RetrievalSettings.contexts(parsing: "1.1K") } throws: { "\($0)".contains("'1.1K' is not a token count") }
        #expect { try RetrievalSettings.depths(parsing: "half") } throws: { "\($0)" == "--depths: 'half' is not a percentage in 0...100" }
        #expect { try RetrievalSettings(depths: [0, 101]) } throws: { "\($0)".hasPrefix("needle depth 101 is outside 0...100") }
        #expect { try RetrievalSettings(depths: [-5]) } throws: { "\($0)".hasPrefix("needle depth -5 is outside") }
        #expect { try RetrievalSettings(depths: [.nan]) } throws: { "\($0)".contains("outside 0...100") }
        #expect { try RetrievalSettings(contexts: [1024, 0]) } throws: { "\($0)" == "--contexts must be positive; got 0" }
        #expect { try RetrievalSettings(samples: 0) } throws: { "\($0)" == "--samples must be positive; got 0" }
        #expect { try RetrievalSettings(contexts: []) } throws: { "\($0)".hasPrefix("--contexts: '' is not") }
        #expect(try RetrievalSettings(contexts: [1024, 2048], depths: [0, 50], samples: 3).taskCount == 12)
        #expect(RetrievalSettings.label(context: 8192) == "8K" && RetrievalSettings.label(context: 1500) == "1500")
    }
}
