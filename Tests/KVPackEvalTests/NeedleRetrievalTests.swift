import Foundation
import KVPack
import KVPackModel
import KVPackPolicies
import Testing
@testable import KVPackEval

/// Needle tasks and retrieval on the shipped SmolLM2 model and its tokenizer, with the GPL-3
/// text as filler.
@Suite("Needle retrieval (SmolLM2)", .serialized)
struct NeedleRetrievalTests {
    @Test("with the model's tokenizer, each prompt and its answer fit the context, the needle sits where the task says, at the depth asked")
    func realTokenizer() throws {
        let loaded = try FidelityFixtures.smollm2.get()
        let filler = FillerText(try FidelityFixtures.text())
        let generator = try NeedleTaskGenerator(filler: filler, tokenizer: loaded.tokenizer, seed: 0, answerTokens: 12)
        let longest = generator.sentenceTokens.max()!
        for context in [300, 1024, 4096] {
            for depth in [0.0, 33, 50, 100] {
                let task = try generator.task(context: context, depth: depth, sample: 0)
                #expect(task.tokens == (try loaded.tokenize(task.text)))
                #expect(task.tokens.count <= context - 12, "context \(context): \(task.tokens.count) tokens")
                #expect(task.tokens.count >= context - 12 - longest - 2, "filled to within a sentence: \(task.tokens.count)")
                let needle = try loaded.tokenizer.decode(Array(task.tokens[task.needlePosition..<task.needlePosition + 32]))
                #expect(needle.trimmingCharacters(in: .whitespaces).hasPrefix(NeedleTask.needle(key: task.key, value: task.value)), "\(needle)")
                // The needle is at a sentence boundary: within a sentence of the depth asked.
                let tolerance = Double(longest + 2) / Double(task.fillerTokens)
                #expect(abs(task.placedDepth - depth / 100) <= tolerance, "context \(context), depth \(depth): placed at \(task.placedDepth)")
            }
        }
    }

    // 320-token prompts at depths 25 and 100: the dense model finds both numbers (checked when
    // the test was written; the tasks are deterministic).
    @Test("dense finds the needle; the dense policy answers as the reference does; each answer is a plain greedy decode's")
    func endToEnd() throws {
        let loaded = try FidelityFixtures.smollm2.get(), model = loaded.model
        let retrieval = try NeedleRetrieval(model: loaded, settings: try RetrievalSettings(contexts: [320], depths: [25, 100], samples: 1))
        let tasks = try retrieval.tasks(filler: FillerText(try FidelityFixtures.text()))
        #expect(tasks.count == 2)
        let plan = try SweepPlan(captures: 1, templates: ["dense", "streaming(keep=0.1)"], budgets: [])
        let (reference, runs) = try retrieval.evaluate(plan.runs, tasks: tasks)
        let answers = try #require(reference.answers)
        #expect(answers.allSatisfy { $0.correct }, "\(answers)")
        #expect(runs[0].answers == answers, "the dense policy's session holds the prompt's f16 pages as the reference's")
        #expect(abs(runs[0].memoryRatio - 1) < 0.05 && abs(reference.memoryRatio - 1) < 0.05)
        #expect(runs[1].memoryRatio < 0.2, "streaming keeps a tenth: \(runs[1].memoryRatio)")
        #expect(runs[1].answers?.count == 2)

        // Independently: the prompt forwarded in one call into a plain session, then greedy tokens until the value shows.
        let pool = try PagePool(.init(budgetBytes: 1 << 34, headDim: model.hyperparameters.headDim))
        for (task, answer) in zip(tasks, answers) {
            let session = try model.makeSession(pool: pool)
            defer { session.close() }
            var hidden = try model.forward(task.tokens, startingAt: 0, session: session)
            var generated = [try model.logits(hidden, rows: hidden.tokens - 1..<hidden.tokens).argmax(row: 0)]
            while !(try loaded.tokenizer.decode(generated)).contains(task.value) && generated.count < 12 {
                hidden = try model.forward([generated.last!], startingAt: task.tokens.count + generated.count - 1, session: session)
                generated.append(try model.logits(hidden, rows: 0..<1).argmax(row: 0))
            }
            #expect(try loaded.tokenizer.decode(generated) == answer.text && generated.count == answer.tokens)
        }
    }

    @Test("a context beyond the trained 8192 tokens is refused unless forced")
    func beyondTrainedContext() throws {
        let loaded = try FidelityFixtures.smollm2.get()
        let settings = try RetrievalSettings(contexts: [4096, 16384])
        #expect { try NeedleRetrieval(model: loaded, settings: settings) } throws: {
            "\($0)".hasPrefix("a context of 16384 tokens is beyond the 8192 tokens") && "\($0)".contains("--force")
        }
        _ = try NeedleRetrieval(model: loaded, settings: settings, force: true)
        _ = try NeedleRetrieval(model: loaded, settings: try RetrievalSettings(contexts: [8192])) // prompt and answer within 8192
    }
}
