import Foundation

/// How the next token is drawn from the logits: greedy at temperature 0, else from
/// `softmax(logits / temperature)` restricted to the nucleus (`topP`), with a seeded generator.
public struct SamplingParameters: Sendable, Hashable {
    /// 0: the most likely token (greedy); above 0, the softmax temperature.
    public var temperature: Double
    /// Nucleus sampling: draw among the most likely tokens whose probabilities add up to at least
    /// `topP` (1: every token).
    public var topP: Double
    /// The generator's seed; the same seed, logits and settings give the same tokens. Nil: a
    /// random seed.
    public var seed: UInt64?

    public init(temperature: Double = 1, topP: Double = 1, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters(temperature: 0)
}

/// Draws next tokens from logits (`SamplingParameters`), one generator per sequence.
public struct TokenSampler: Sendable {
    public let parameters: SamplingParameters
    private var generator: SeededGenerator

    /// - Throws: `GenerationError` for a negative or non-finite temperature, a `topP` outside (0, 1].
    public init(_ parameters: SamplingParameters) throws(GenerationError) {
        guard parameters.temperature.isFinite, parameters.temperature >= 0 else { throw .invalidTemperature(parameters.temperature) }
        guard parameters.topP > 0, parameters.topP <= 1 else { throw .invalidTopP(parameters.topP) }
        self.parameters = parameters
        generator = SeededGenerator(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// The next token from `logits` (`[vocabularySize]`). NaN logits count as impossible tokens;
    /// the lowest id wins ties in greedy decoding.
    public mutating func next(_ logits: ArraySlice<Float>) -> Int {
        let base = logits.startIndex
        var best = base
        for i in logits.indices where logits[i] > logits[best] || logits[best].isNaN { best = i }
        guard parameters.temperature > 0 else { return best - base }
        let top = Double(logits[best]), t = parameters.temperature
        guard top.isFinite else { return best - base }
        var weights = [Double](repeating: 0, count: logits.count)
        var total: Double = 0
        logits.withUnsafeBufferPointer { l in
            for i in 0..<l.count where !l[i].isNaN {
                let w = exp((Double(l[i]) - top) / t)
                weights[i] = w
                total += w
            }
        }
        var candidates: [Int]
        var mass = total
        if parameters.topP < 1 {
            // The most likely tokens (ties by id) until their share reaches topP.
            let order = weights.indices.filter { weights[$0] > 0 }.sorted { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }
            candidates = []
            mass = 0
            for i in order {
                candidates.append(i)
                mass += weights[i]
                if mass >= parameters.topP * total { break }
            }
        } else {
            candidates = Array(weights.indices)
        }
        let r = generator.unit() * mass
        var cumulative: Double = 0
        for i in candidates {
            cumulative += weights[i]
            if r < cumulative { return i }
        }
        return candidates.last(where: { weights[$0] > 0 }) ?? best - base
    }
}
