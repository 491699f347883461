import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets
import KVPackModel

/// `kvpack model-check`: the model runtime's forward pass against a capture's stored dense-model
/// statistics (the capture tool's numpy pass on the same token ids).
struct ModelCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-check",
        abstract: "Check the model runtime's forward pass against a capture's stored log-probabilities.",
        discussion: """
            Runs the capture's token ids through the GGUF model (dense session, prompt in chunks) and \
            compares, token by token, the log-probability of the next token with the one the capture \
            tool stored; at the probe positions also the top-64 next-token log-probabilities and logits. \
            Reports the largest and mean absolute differences, the perplexity against the recorded one, \
            and the run time.
              kvpack model-check --model smollm2 Datasets/samples/smollm2-135m-gpl3-2k.h5
            """)

    @Argument(help: "A capture made by Tools/capture/capture.py (with token ids and log-probabilities).") var capture: String
    @Option(help: "smollm2, gemma3-270m, or a GGUF file.") var model: String
    @Option(help: "Tokens to run (default: all the capture has).") var tokens: Int?
    @Option(help: "Prompt tokens per forward call.") var chunk = 512
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let tokens, tokens <= 0 { throw ValidationError("--tokens must be positive; got \(tokens)") }
        if chunk <= 0 { throw ValidationError("--chunk must be positive; got \(chunk)") }
    }

    struct Result: Codable {
        var model: String
        var tokens: Int
        var maxLogProbDifference: Double
        var maxLogProbDifferencePosition: Int
        var meanLogProbDifference: Double
        var probes: Int
        var maxProbeTopLogProbDifference: Double
        var maxProbeLogitDifference: Double
        var probeSameTop1: Int
        var perplexity: Double
        var capturePerplexity: Double
        var recordedPerplexity: Double?
        var forwardSeconds: Double
        var logitSeconds: Double
        var loadSeconds: Double
    }

    func run() throws {
        try failing {
            let file = try CaptureFile.open(capture)
            let id = file.sequenceIDs[0]
            guard let reference = try file.denseModelReference(of: id) else {
                throw ValidationError("\(capture) stores no token ids or log-probabilities (capture it with Tools/capture/capture.py)")
            }
            let probes = try file.positions(of: id).probes
            let loadStart = ContinuousClock.now
            let lm = try LanguageModel(contentsOf: try ModelArgument.path(model))
            let loadSeconds = (ContinuousClock.now - loadStart).seconds
            let n = min(tokens ?? reference.tokenLogProbs.count, reference.tokenLogProbs.count)
            let pool = try PagePool(.init(budgetBytes: 1 << 40, headDim: lm.hyperparameters.headDim))
            let session = try lm.makeSession(pool: pool)
            defer { session.close() }
            let k = reference.topK
            var maxDiff = 0.0, maxAt = 0, sumDiff = 0.0, sumLogProb = 0.0
            var maxTop = 0.0, maxLogit = 0.0, sameTop1 = 0, probesSeen = 0
            var forward = Duration.zero, logitTime = Duration.zero
            for start in stride(from: 0, to: n, by: chunk) {
                let ids = Array(reference.tokenIDs[start..<min(n, start + chunk)])
                let hidden = try lm.forward(ids, startingAt: start, session: session)
                forward += hidden.profile.total
                for rowStart in stride(from: 0, to: ids.count, by: 64) {
                    let t0 = ContinuousClock.now
                    let logits = try lm.logits(hidden, rows: rowStart..<min(ids.count, rowStart + 64))
                    logitTime += ContinuousClock.now - t0
                    for r in 0..<logits.rows {
                        let position = start + rowStart + r
                        let lse = logits.logSumExp(row: r)
                        let lp = Double(logits.values[r * logits.vocabularySize + reference.tokenIDs[position + 1]]) - lse
                        let diff = abs(lp - Double(reference.tokenLogProbs[position]))
                        sumDiff += diff
                        sumLogProb += lp
                        if diff > maxDiff { maxDiff = diff; maxAt = position }
                        if let p = probes.firstIndex(of: position) {
                            probesSeen += 1
                            for j in 0..<k {
                                let token = reference.probeTopIDs[p * k + j]
                                let logit = Double(logits.values[r * logits.vocabularySize + token])
                                let stored = Double(reference.probeTopLogProbs[p * k + j])
                                maxTop = max(maxTop, abs(logit - lse - stored))
                                maxLogit = max(maxLogit, abs(logit - (stored + Double(reference.probeLogSumExp[p]))))
                            }
                            if logits.argmax(row: r) == reference.probeTopIDs[p * k] { sameTop1 += 1 }
                        }
                    }
                }
            }
            let capturePerplexity = exp(-reference.tokenLogProbs[0..<n].reduce(0.0) { $0 + Double($1) } / Double(n))
            let result = Result(
                model: lm.hyperparameters.name, tokens: n, maxLogProbDifference: maxDiff, maxLogProbDifferencePosition: maxAt,
                meanLogProbDifference: sumDiff / Double(n), probes: probesSeen, maxProbeTopLogProbDifference: maxTop,
                maxProbeLogitDifference: maxLogit, probeSameTop1: sameTop1, perplexity: exp(-sumLogProb / Double(n)),
                capturePerplexity: capturePerplexity, recordedPerplexity: reference.storedPerplexity,
                forwardSeconds: forward.seconds, logitSeconds: logitTime.seconds, loadSeconds: loadSeconds)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                print("""
                    \(result.model): \(n) tokens of \(capture)
                      next-token log-prob: max |Δ| \(String(format: "%.5f", maxDiff)) (position \(maxAt)), mean |Δ| \(String(format: "%.6f", result.meanLogProbDifference))
                      probes (\(probesSeen)): top-\(k) log-prob max |Δ| \(String(format: "%.5f", maxTop)), logit max |Δ| \(String(format: "%.5f", maxLogit)), same top-1 \(sameTop1)/\(probesSeen)
                      perplexity \(String(format: "%.4f", result.perplexity)) (capture's log-probs: \(String(format: "%.4f", capturePerplexity)), recorded \(reference.storedPerplexity.map { String(format: "%.4f", $0) } ?? "-"))
                      forward \(String(format: "%.2f", forward.seconds)) s (\(String(format: "%.1f", Double(n) / forward.seconds)) tokens/s in chunks of \(chunk)), logits \(String(format: "%.2f", logitTime.seconds)) s, load \(String(format: "%.2f", loadSeconds)) s
                    """)
            }
        }
    }
}
