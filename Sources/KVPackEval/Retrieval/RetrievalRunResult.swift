/// A greedy answer to one needle task.
public struct NeedleAnswer: Sendable, Hashable, Codable {
    /// The generated text (the tokens decoded; control tokens left out).
    public var text: String
    /// Tokens generated: at most `RetrievalSettings.answerTokens`, fewer when the value appeared
    /// or EOS came first.
    public var tokens: Int
    /// Whether the text holds the task's value (`NeedleTask.isAnswered(by:)`).
    public var correct: Bool

    public init(text: String, tokens: Int, correct: Bool) {
        self.text = text
        self.tokens = tokens
        self.correct = correct
    }
}

/// The dense reference, or one policy at one budget, over every task of an evaluation.
public struct RetrievalRunResult: Sendable, Hashable, Codable {
    /// The sweep run (template, canonical spec, budget); nil for the dense reference.
    public var run: SweepPlan.Run?
    /// Session bytes at the end of each answer, summed over tasks, and the dense f16 bytes of
    /// the same tokens.
    public var bytes: Int
    public var denseBytes: Int
    /// `bytes / denseBytes`.
    public var memoryRatio: Double
    /// One answer per task, in the report's task order; nil when the run failed.
    public var answers: [NeedleAnswer]?
    /// Why the run failed (the policy refused a prompt), instead of answers.
    public var error: String?

    public init(run: SweepPlan.Run?, bytes: Int, denseBytes: Int, answers: [NeedleAnswer]?, error: String? = nil) {
        self.run = run
        self.bytes = bytes
        self.denseBytes = denseBytes
        self.memoryRatio = Double(bytes) / Double(max(1, denseBytes))
        self.answers = answers
        self.error = error
    }

    /// The policy as the tables name it.
    public var name: String { run?.policy ?? "dense (reference)" }

    /// Share of correct answers among the tasks where `include` holds (NaN for a failed run or
    /// no such task).
    public func accuracy(of tasks: [NeedleTask.Summary], where include: (NeedleTask.Summary) -> Bool = { _ in true }) -> Double {
        guard let answers else { return .nan }
        var correct = 0, total = 0
        for (t, a) in zip(tasks, answers) where include(t) {
            total += 1
            if a.correct { correct += 1 }
        }
        return total > 0 ? Double(correct) / Double(total) : .nan
    }
}
