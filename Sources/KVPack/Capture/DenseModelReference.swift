import Foundation

/// What the dense model itself predicted on a captured sequence, stored by the capture tool for
/// model-level metrics (KL divergence, same-top-1, perplexity ratio).
public struct DenseModelReference: Sendable, Equatable {
    /// Token ids of the captured text, `[tokens + probes + 1]` (position `i` holds token `i`).
    public var tokenIDs: [Int]
    /// `log p(token[i + 1] | tokens ≤ i)` under the dense model, `[tokens + probes]`, fp32.
    public var tokenLogProbs: [Float]
    /// The perplexity the capture tool computed and stored.
    public var storedPerplexity: Double?
    /// Top-`topK` next-token ids at each probe position, `[probes, topK]` row-major.
    public var probeTopIDs: [Int]
    /// Their log-probabilities, `[probes, topK]`, fp32.
    public var probeTopLogProbs: [Float]
    /// log Σ exp(logits) at each probe position, `[probes]` (logit = log-prob + logsumexp).
    public var probeLogSumExp: [Float]
    public var topK: Int

    public init(tokenIDs: [Int], tokenLogProbs: [Float], storedPerplexity: Double?, probeTopIDs: [Int],
                probeTopLogProbs: [Float], probeLogSumExp: [Float], topK: Int) {
        self.tokenIDs = tokenIDs
        self.tokenLogProbs = tokenLogProbs
        self.storedPerplexity = storedPerplexity
        self.probeTopIDs = probeTopIDs
        self.probeTopLogProbs = probeTopLogProbs
        self.probeLogSumExp = probeLogSumExp
        self.topK = topK
    }

    /// exp(−mean log-prob) over `tokenLogProbs`, accumulated in Double.
    public var perplexity: Double {
        guard !tokenLogProbs.isEmpty else { return .nan }
        return exp(-tokenLogProbs.reduce(0.0) { $0 + Double($1) } / Double(tokenLogProbs.count))
    }
}
